"""``bench report``: execute the analysis notebooks on a grid's results and export HTML and PDF.

The notebooks (``analysis/NN_*.py``, jupytext percent format) are read in
order, each given the results directory by a cell inserted after its
``parameters`` cell (papermill's convention), and joined into one notebook:
the grid's title, the front notebooks (``00_*.py``: the summary, page 1), a
provenance section and a table of contents, then every other notebook, each
on a new page. It is executed headless with nbclient; a section whose code
called :func:`omit_section` (it has nothing to show for this grid) is then
replaced by the one line that says why, and the contents are listed from what
is left. Then it is exported:

- HTML: nbconvert's ``lab`` template with code hidden (``show_code`` keeps
  it), figures embedded as PNG data, and no script loaded from the network,
  so the file is self-contained;
- PDF: the same HTML laid out for A4 by WeasyPrint (no browser, no LaTeX);
  table cells wrap at spaces (:data:`PRINT_CSS`), a table still wider than
  the page is laid out again with its words broken where needed
  (:func:`wide_tables`), and any text that would still run past the page's
  right margin is reported (:func:`overflowing_text`).
"""

from __future__ import annotations

import datetime
import itertools
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from bench import metric_names as names
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
table { font-size: 7pt !important; table-layout: auto !important; max-width: 100%; }
td, th { white-space: normal !important; overflow-wrap: break-word; padding: 0.2em 0.35em !important; }
img, tr { page-break-inside: avoid; }
h1, h2 { page-break-after: avoid; }
.page-break, .jp-Cell:has(.page-break) { break-before: page; }
.jp-MarkdownCell { break-after: avoid; break-inside: avoid; }  /* a heading and its text stay with what follows */
/* Plain blocks instead of the notebook's flex and table layout: forced page breaks and the page width reach in. */
.jp-Cell, .jp-Cell-inputWrapper, .jp-Cell-outputWrapper, .jp-InputArea, .jp-InputArea-editor, .jp-OutputArea,
.jp-OutputArea-child, .jp-OutputArea-output { display: block !important; width: auto !important; }
.jp-Collapser, .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
.jp-OutputArea-output { overflow: visible !important; }
"""
# A table still too wide for the page (long words in many columns) is laid out again with its words broken anywhere.
NARROW_CSS = "table[data-print=narrow] td, table[data-print=narrow] th { overflow-wrap: anywhere; }"
PAGE_BREAK = '<div class="page-break"></div>'
OMIT_KEY = "bench_omit_section"  # display metadata of the line that replaces a section with nothing to show
CONTENTS_TAG = "report-contents"


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
    """One notebook: title and summary (``00_*`` notebooks), provenance and contents, then the other notebooks.

    Every notebook gets the results directory after its ``parameters`` cell;
    every notebook after the front ones starts on a new page.
    """
    import jupytext

    front, body = [], []
    for path in notebooks:
        cells = front if path.name.startswith("00_") else body
        first = True
        for cell in jupytext.read(path).cells:
            if cell.cell_type == "markdown":
                cell = _anchored(cell)
                if first and cells is body:
                    cell.source = f"{PAGE_BREAK}\n\n{cell.source}"
                first = False
            cells.append(cell)
            if "parameters" in cell.metadata.get("tags", []):
                cells.append(nbformat.v4.new_code_cell(f"RESULTS_DIR = {str(results.directory.resolve())!r}",
                                                       metadata={"tags": ["injected-parameters"]}))
    description = results.manifest.get("description") or results.spec.get("description") or ""
    title = nbformat.v4.new_markdown_cell(f"# {results.name}\n\n{description}".rstrip())
    head = [nbformat.v4.new_markdown_cell(f"{PAGE_BREAK}\n\n{provenance(results)}"),
            nbformat.v4.new_markdown_cell(contents(body), metadata={"tags": [CONTENTS_TAG]})]
    nb = nbformat.v4.new_notebook(cells=[title] + front + head + body)
    nb.metadata["title"] = f"bench report: {results.name}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def omit_section(reason: str) -> None:
    """In a notebook: this section has nothing to show for this grid; the report keeps only ``reason``.

    The section is the one of the nearest heading above the calling cell (a
    ``#`` heading: the whole notebook, ``##``: that part), up to the next
    heading of the same or a higher level. Say what is missing and that the
    section is left out: "No split runs in this grid: the N-shot section is
    omitted."
    """
    from IPython.display import Markdown, display

    display(Markdown(f"*{reason}*"), metadata={OMIT_KEY: True})


def _heading_level(cell) -> int | None:
    if cell.cell_type != "markdown":
        return None
    levels = [len(m.group(1)) for m in re.finditer(r"^(#{1,6}) ", cell.source, flags=re.M)]
    return min(levels) if levels else None


def _omit_reasons(cell) -> list[str]:
    if cell.cell_type != "code":
        return []
    return ["".join(o.get("data", {}).get("text/markdown", "")) for o in cell.get("outputs", [])
            if o.get("output_type") == "display_data" and o.get("metadata", {}).get(OMIT_KEY)]


def prune_omitted(nb: nbformat.NotebookNode) -> list[str]:
    """Replace each section that called :func:`omit_section` by its reason; list the contents afresh.

    Returns the reasons, in order.
    """
    cells = nb.cells
    spans = []  # (start, end, reasons): cells [start, end) make way for the reasons
    for i, cell in enumerate(cells):
        reasons = _omit_reasons(cell)
        if not reasons:
            continue
        start = next((j for j in range(i, -1, -1) if _heading_level(cells[j]) is not None), None)
        if start is None:
            continue
        level = _heading_level(cells[start])
        end = next((k for k in range(i + 1, len(cells)) if (_heading_level(cells[k]) or 99) <= level), len(cells))
        if spans and start < spans[-1][1]:  # inside a section already left out, or one that contains it
            first, last, earlier = spans.pop()
            spans.append((min(first, start), max(last, end), earlier if start >= first else reasons))
        else:
            spans.append((start, end, reasons))
    kept, position = [], 0
    for start, end, reasons in spans:
        kept += cells[position:start]
        kept.append(nbformat.v4.new_markdown_cell("\n\n".join(reasons), metadata={"tags": ["omitted-section"]}))
        position = end
    kept += cells[position:]
    nb.cells = kept
    for i, cell in enumerate(kept):
        if CONTENTS_TAG in cell.metadata.get("tags", []):
            cell.source = contents(kept[i + 1:])
    return [r for _, _, reasons in spans for r in reasons]


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
    codes = sorted({str(c) for c in runs.get(names.CODE_VERSION, []) if c is not None})
    threads = sorted({str(t) for t in runs.get(names.TORCH_THREADS, []) if t is not None})
    devices = sorted({str(d) for d in runs.get(names.DEVICE, []) if d is not None})
    finished = sorted(str(t) for t in runs.get(names.FINISHED_AT, []) if t is not None)
    report_code = git_commit()
    versions = ", ".join(f"{k} {v}" for k, v in package_versions(REPORT_PACKAGES).items() if v)
    lines = [
        "# About this report",
        "",
        f"- **Grid spec:** `{results.manifest.get('spec', 'unknown')}` (copy in `{results.directory}/spec.yaml`)",
        f"- **Runs:** {len(runs)} finished of {planned} planned, {len(results.failed)} failed; "
        f"{runs[names.SETTING].nunique() if len(runs) else 0} settings; baseline setting: `{results.baseline}`",
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


def layout(html: str, base_url: str | None = None):
    """The HTML laid out on A4 pages by WeasyPrint, with :data:`PRINT_CSS` (a ``weasyprint.Document``)."""
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as error:  # OSError: the Pango library is missing
        raise ConfigError(f"PDF export needs WeasyPrint and the Pango library ({error}); install Pango "
                          "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0) or use --format html") from None

    return HTML(string=html, base_url=base_url).render(stylesheets=[CSS(string=PRINT_CSS + NARROW_CSS)])


def _right_edge(page, tolerance: float) -> float:
    box = page._page_box
    return box.content_box_x() + box.width + tolerance


def overflowing_text(document, tolerance: float = 1.0) -> list[tuple[int, str]]:
    """Text and images that run past the right margin of their page: [(page number, text or "image")].

    A table too wide for the page shows as its cells' text beyond the margin:
    the PDF cuts it off where the paper ends.
    """
    from weasyprint.formatting_structure import boxes

    found = []
    for number, page in enumerate(document.pages, start=1):
        right = _right_edge(page, tolerance)
        for child in page._page_box.descendants():
            if isinstance(child, boxes.TextBox) and child.text.strip():
                if child.position_x + child.width > right:
                    found.append((number, child.text))
            elif isinstance(child, boxes.ReplacedBox) and child.position_x + child.width > right:
                found.append((number, "image"))
    return found


def wide_tables(document, tolerance: float = 1.0) -> list[int]:
    """Positions (0-based, in document order) of the ``<table>`` elements wider than their page's text."""
    from weasyprint.formatting_structure import boxes

    if not document.pages:
        return []
    root = document.pages[0]._page_box.children[0].element
    order = {id(e): i for i, e in enumerate(e for e in root.iter() if isinstance(e.tag, str)
                                            and e.tag.rsplit("}", 1)[-1] == "table")}
    wide = set()
    for page in document.pages:
        right = _right_edge(page, tolerance)
        for child in page._page_box.descendants():
            if isinstance(child, boxes.TableBox) and child.position_x + child.width > right:
                wide.add(order.get(id(child.element)))
    return sorted(i for i in wide if i is not None)


def narrowed(html: str, tables: list[int]) -> str:
    """``html`` with the ``<table>`` elements at ``tables`` marked to break their words anywhere."""
    chosen, count = set(tables), itertools.count()
    return re.sub(r"<table\b", lambda m: '<table data-print="narrow"' if next(count) in chosen else m.group(0), html)


def pdf_document(html: str, base_url: str | None = None):
    """The pages of the PDF: the HTML laid out, the tables too wide for the page laid out again narrower."""
    document = layout(html, base_url=base_url)
    wide = wide_tables(document)
    if wide:  # too wide even with their cells wrapped at spaces: break their words where needed
        document = layout(narrowed(html, wide), base_url=base_url)
    return document


def to_pdf(html: str, path: Path) -> None:
    document = pdf_document(html, base_url=str(path.parent))
    overflow = overflowing_text(document)
    if overflow:
        shown = "; ".join(f"page {page}: {text[:30]!r}" for page, text in overflow[:5])
        warnings.warn(f"{len(overflow)} piece(s) of the PDF run past the page's right margin ({shown})",
                      stacklevel=2)
    document.write_pdf(path)


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
    prune_omitted(nb)
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
