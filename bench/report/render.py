"""``bench report``: execute the analysis notebooks on a grid's results and export HTML and PDF.

The notebooks (``analysis/NN_*.py``, jupytext percent format) are read in
order, each given the results directory by a cell inserted after its
``parameters`` cell (papermill's convention), joined into one notebook behind
a provenance section and a table of contents, executed headless with
nbclient, and exported:

- HTML: nbconvert's ``lab`` template with code hidden (``show_code`` keeps
  it), figures embedded as PNG data, and no script loaded from the network,
  so the file is self-contained;
- PDF: the same HTML laid out for A4 by WeasyPrint (no browser, no LaTeX).
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from bench.report.results import Results, load_results
from bench.validation import ConfigError

FORMATS = ("html", "pdf")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NOTEBOOKS = REPO_ROOT / "analysis"
REPORT_PACKAGES = ("torch", "numpy", "pandas", "matplotlib", "nbclient", "nbconvert", "weasyprint")
PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-size: 9pt; }
img { max-width: 100%; height: auto; }
table { font-size: 7pt; }
td, th { white-space: normal !important; overflow-wrap: break-word; padding: 0.2em 0.35em !important; }
img, table { page-break-inside: avoid; }
h1, h2 { page-break-after: avoid; }
h1 { page-break-before: always; }
h1:first-of-type { page-break-before: avoid; }
.jp-OutputArea-output { overflow: visible !important; }
"""


@dataclass
class Report:
    html: Path | None
    pdf: Path | None
    seconds: dict[str, float]  # execute, html, pdf
    results: Results


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format {text!r}: allowed are {', '.join(FORMATS)} (comma-separated)")
    return formats


def notebook_files(directory: Path = DEFAULT_NOTEBOOKS) -> list[Path]:
    files = sorted(Path(directory).glob("[0-9][0-9]_*.py"))
    if not files:
        raise ConfigError(f"no analysis notebooks (NN_*.py, jupytext percent format) in {directory}")
    return files


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_notebook(results: Results, notebooks: list[Path]) -> nbformat.NotebookNode:
    """One notebook: provenance, contents, then every analysis notebook with the results directory set."""
    import jupytext

    cells = []
    for path in notebooks:
        for cell in jupytext.read(path).cells:
            cells.append(_anchored(cell) if cell.cell_type == "markdown" else cell)
            if "parameters" in cell.metadata.get("tags", []):
                cells.append(nbformat.v4.new_code_cell(f"RESULTS_DIR = {str(results.directory.resolve())!r}",
                                                       metadata={"tags": ["injected-parameters"]}))
    head = [nbformat.v4.new_markdown_cell(provenance(results)), nbformat.v4.new_markdown_cell(contents(cells))]
    nb = nbformat.v4.new_notebook(cells=head + cells)
    nb.metadata["title"] = f"bench report: {results.name}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _anchored(cell):
    """Headings get explicit ids, so the contents links work in the HTML and the PDF alike."""
    cell.source = "\n".join(_anchor_heading(line) for line in cell.source.splitlines())
    return cell


def _anchor_heading(line: str) -> str:
    m = re.match(r"^(#{1,2}) (.+)$", line)  # the levels the contents list
    return f'{m.group(1)} {m.group(2)} <a id="{slug(m.group(2))}"></a>' if m else line


def contents(cells) -> str:
    items = ["**Contents**", ""]
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r'^(#{1,2}) (.+?) <a id="([^"]+)"></a>$', line)
            if m:
                indent = "    " if m.group(1) == "##" else ""
                items.append(f"{indent}- [{m.group(2)}](#{m.group(3)})")
    return "\n".join(items)


def provenance(results: Results) -> str:
    """Where the report's numbers come from: the grid, its runs, the code, the packages, the dates."""
    from bench.environment import git_commit, package_versions

    runs = results.runs
    planned = len(results.manifest.get("runs", [])) or len(runs)
    codes = sorted({str(c) for c in runs.get("code_version", []) if c is not None})
    threads = sorted({str(t) for t in runs.get("torch_threads", []) if t is not None})
    devices = sorted({str(d) for d in runs.get("device", []) if d is not None})
    finished = sorted(str(t) for t in runs.get("finished_at", []) if t is not None)
    report_code = git_commit()
    versions = ", ".join(f"{k} {v}" for k, v in package_versions(REPORT_PACKAGES).items() if v)
    lines = [
        f"# {results.name}",
        "",
        results.manifest.get("description") or results.spec.get("description") or "",
        "",
        f"- **Grid spec:** `{results.manifest.get('spec', 'unknown')}` (copy in `{results.directory}/spec.yaml`)",
        f"- **Runs:** {len(runs)} finished of {planned} planned, {len(results.failed)} failed; "
        f"{runs['setting'].nunique() if len(runs) else 0} settings; baseline setting: `{results.baseline}`",
        f"- **Code of the runs:** {', '.join(codes) or 'unknown'}; torch threads {', '.join(threads) or '?'}; "
        f"device {', '.join(devices) or '?'}",
        f"- **Runs finished:** {finished[0] if finished else '?'} to {finished[-1] if finished else '?'}",
        f"- **Report made:** {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} "
        f"with code {report_code.get('commit') or 'unknown'}"
        f"{' (uncommitted changes)' if report_code.get('dirty') else ''}; {versions}",
    ]
    if len(results.missing):
        shown = ", ".join(f"`{r.label}` ({r.status})" for r in results.missing.head(20).itertuples())
        more = f" and {len(results.missing) - 20} more" if len(results.missing) > 20 else ""
        lines += ["", f"**This grid is not finished: {len(results.missing)} planned run(s) have no result** "
                  f"and are left out of every figure and table: {shown}{more}."]
    if len(results.failed):
        shown = "; ".join(f"`{r.label}`: {r.error_type}" for r in results.failed.head(10).itertuples())
        lines += ["", f"**Failed runs:** {shown} (details: `bench collect`, `failed/<key>.json`)."]
    return "\n".join(lines)


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no transport warnings
        client.execute()
    except CellExecutionError as error:
        raise RuntimeError(f"an analysis notebook failed while rendering the report:\n{error}") from error


def to_html(nb: nbformat.NotebookNode, show_code: bool = False) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    html, _ = exporter.from_notebook_node(nb)
    # Self-contained: nothing is fetched when the file is opened (figures are PNG data; no maths to typeset).
    return re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", html)


def to_pdf(html: str, path: Path) -> None:
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as error:  # OSError: the Pango library is missing
        raise ConfigError(f"PDF export needs WeasyPrint and the Pango library ({error}); install Pango "
                          "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0) or use --format html") from None

    HTML(string=html, base_url=str(path.parent)).write_pdf(path, stylesheets=[CSS(string=PRINT_CSS)])


def render_report(results_dir, formats=FORMATS, out=None, notebooks_dir: Path = DEFAULT_NOTEBOOKS,
                  show_code: bool = False, timeout: int = 600) -> Report:
    """Render the report of a grid directory; returns the files written and how long each part took."""
    notebooks = notebook_files(notebooks_dir)
    results = load_results(results_dir)
    if not len(results.runs):
        raise ConfigError(f"{results_dir} has no finished run yet: nothing to report "
                          f"({len(results.missing)} planned, {len(results.failed)} failed)")
    out = Path(out) if out is not None else results.directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    start = time.perf_counter()
    nb = build_notebook(results, notebooks)
    execute(nb, cwd=REPO_ROOT if REPO_ROOT.is_dir() else Path.cwd(), timeout=timeout)
    seconds["execute"] = time.perf_counter() - start
    nbformat.write(nb, out / "report.ipynb")
    start = time.perf_counter()
    html = to_html(nb, show_code)
    seconds["html"] = time.perf_counter() - start
    html_path = pdf_path = None
    if "html" in formats:
        html_path = out / "report.html"
        html_path.write_text(html, encoding="utf-8")
    if "pdf" in formats:
        start = time.perf_counter()
        pdf_path = out / "report.pdf"
        to_pdf(html, pdf_path)
        seconds["pdf"] = time.perf_counter() - start
    return Report(html_path, pdf_path, seconds, results)
