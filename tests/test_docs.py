"""The documentation stands alone: its links resolve inside the repository, and nothing a user reads
points at files outside it (notes, issue numbers, a development data folder)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS, ROOT / "reports" / "README.md"]

# What a user cannot follow: documents outside the repository, and issue numbers of its tracker.
FORBIDDEN = [
    re.compile(r"REFERENCE\.md|REFERENCE notes"),
    re.compile(r"\.\./shared|shared/data"),
    re.compile(r"\bissues? #\d", re.IGNORECASE),
    re.compile(r"note on issue", re.IGNORECASE),
]
SCANNED = ["README.md", "docs", "bench", "analysis", "ablations", "reports"]
SUFFIXES = {".md", ".py", ".yaml", ".yml", ".txt", ".toml", ".cfg"}

LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks (links and headings inside them are not links or headings)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, heading in HEADING.findall(_prose(path.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    return [target for _, target in LINK.findall(INLINE_CODE.sub("", _prose(path.read_text())))]


def test_the_pages_exist():
    assert (ROOT / "README.md").is_file()
    names = {p.name for p in DOCS}
    assert {"metrics.md", "heuristics.md", "papers.md", "calibration.md", "data.md"} <= names
    assert (ROOT / "reports" / "README.md").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif not str(dest).startswith(str(ROOT)):
            broken.append(f"{target}: outside the repository")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_nothing_points_outside_the_repository():
    hits = []
    for name in SCANNED:
        base = ROOT / name
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.suffix in SUFFIXES)
        for path in files:
            if "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if any(p.search(line) for p in FORBIDDEN):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "pointers outside the repository:\n" + "\n".join(hits)


def test_heuristics_cite_nothing_outside_the_repository_and_are_all_documented():
    from bench.heuristics.registry import all_heuristics

    page = (ROOT / "docs" / "heuristics.md").read_text()
    for h in all_heuristics():
        assert not any(p.search(h.source) for p in FORBIDDEN), (h.name, h.source)
        assert f"`{h.name}`" in page, f"docs/heuristics.md does not list `{h.name}` ({h.slot})"


def test_every_metric_key_is_documented():
    from bench.metrics import ranking_metrics

    page = (ROOT / "docs" / "metrics.md").read_text()
    truth = np.linspace(50.0, 90.0, 40)
    keys = set(ranking_metrics(truth[::-1].copy(), truth, space_truth=truth))
    keys |= {"complexity_bias", "complexity_bias_matched", "complexity_convergence_correlation",
             "grad_std", "grad_std_within_clusters", "grad_cos_successive",
             "grad_cos_successive_within_clusters", "mgcs_A1", "mgcs_A3", "mgcs_A5",
             "spearman_space_top1pct", "spearman_space_top5pct"}
    undocumented = sorted(k for k in keys if k not in page and not _documented_by_pattern(k, page))
    assert not undocumented, f"docs/metrics.md lacks {undocumented}"


def _documented_by_pattern(key: str, page: str) -> bool:
    """``best_rank_at_5pct`` is documented by ``best_rank_at_{1,5,10}pct``."""
    m = re.fullmatch(r"(best|worst)_rank_at_(\d+)pct", key)
    return bool(m) and f"`{m.group(1)}_rank_at_{{1,5,10}}pct`" in page


def _repository_folders() -> list[Path]:
    """Folders that hold files under version control (every folder below the root where git is absent)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        files = [Path(line) for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", ".tox", ".pytest_cache", "__pycache__", "build", "dist", "results", "runs"}
        files = [p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file()
                 and not any(part in skip or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]
    return sorted({parent for f in files for parent in f.parents if parent != Path(".")})


def test_readme_layout_names_every_folder():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    # a published study's folder (reports/<grid>/) is named by reports/README.md, not the layout
    folders = [f for f in _repository_folders() if f.parent != Path("reports")]
    missing = [str(f) for f in folders if f"{f.name}/" not in layout]
    assert not missing, f"README's Layout section does not name {missing}"


def test_readme_keeps_the_ci_test_command():
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert command in (ROOT / "README.md").read_text(), f"README lacks .ci/run's command: {command}"
