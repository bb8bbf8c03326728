"""Reports: tables and figures from a small real grid, rendered to HTML and PDF and checked as a reader would."""

import shutil
from html.parser import HTMLParser

import pytest
import yaml

pytest.importorskip("nbclient", reason="report dependencies missing: pip install -e '.[report]'")

from bench.cli import main  # noqa: E402
from bench.report import figures, tables  # noqa: E402
from bench.report.paper_numbers import PAPER_VALUES, matches  # noqa: E402
from bench.report.render import parse_formats, render_report  # noqa: E402
from bench.report.results import load_results  # noqa: E402
from bench.validation import ConfigError  # noqa: E402

# Digits, tiny supernet: cosine vs CaLR, 2 seeds, with ranking tracked, a GM probe and MGCS, so that
# every figure of the report has something to draw.
SPEC = {
    "name": "report_test",
    "description": "tiny grid for the report tests",
    "base": {"train": {"epochs": 3, "batch_size": 128}, "supernet": {"C": 4, "N": 1},
             "eval": {"pool_size": 20, "track_every": 1, "track_pool": 8},
             "diagnostics": {"grad_window": 2, "gm_every": 3, "gm_batches": 1}},
    "axes": {"heuristics.lr_schedule": ["cosine", "calr"]},
    "include": [{"heuristics.sampling": "mgcs", "diagnostics.gm_every": 0}],
    "seeds": [0, 1],
}
FIGURES = 7  # tau by setting, tau over epochs, loss, score vs truth, CB/C3, gradient std, GM heatmaps


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    assert main(["grid", str(spec), "--out", str(root / "grid"), "--jobs", "1", "--threads", "1"]) == 0
    return root / "grid"


@pytest.fixture(scope="module")
def rendered(grid_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("rendered")
    return render_report(grid_dir, ["html", "pdf"], out)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.ids, self.links, self.scripts, self.headings = [], set(), [], [], []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        self._in_heading = tag in ("h1", "h2")

    def handle_data(self, data):
        if self._in_heading and data.strip():
            self.headings.append(data.strip())
            self._in_heading = False


def test_tables_summarize_per_setting_and_compare_with_the_baseline(grid_dir):
    results = load_results(grid_dir)
    assert results.baseline == "lr_schedule=cosine" and len(results.missing) == 0
    summary = tables.long_summary(results, ["kendall_tau"])
    assert list(summary["setting"]) == results.settings and (summary["n"] == 2).all()
    overview = tables.heuristics_overview(results)
    calr = overview[overview["setting"] == "lr_schedule=calr"].iloc[0]
    assert "lr_schedule=calr" in calr["heuristics"] and "Jeon" in calr["sources"]
    # The paired effect is the mean per-seed difference from the baseline.
    runs = results.runs.set_index(["setting", "seed"])["kendall_tau"]
    expected = (runs["lr_schedule=calr"] - runs["lr_schedule=cosine"]).mean()
    assert calr["kendall_tau_effect"] == pytest.approx(expected)


def test_paper_numbers_match_the_settings_they_belong_to(grid_dir):
    results = load_results(grid_dir)
    comparison = tables.paper_comparison(results)
    # The digits grid runs SPOS with shared momentum 0.9: cosine is the paper's SPOS, CaLR alone its CB row.
    assert set(comparison[comparison["setting"] == "lr_schedule=cosine"]["paper setting"]) == {"SPOS"}
    assert "SPOS+CaLR" in set(comparison[comparison["setting"] == "lr_schedule=calr"]["paper setting"])
    assert {"mgcs_A1", "mgcs_A3", "mgcs_A5"} <= set(comparison["metric"])
    spos = next(p for p in PAPER_VALUES if p.setting == "SPOS" and p.metric == "kendall_tau")
    assert not matches({**spos.match, "train.momentum": 0.0}, spos.match)
    assert not matches({}, spos.match)


def test_every_figure_has_something_to_draw(grid_dir):
    results = load_results(grid_dir)
    made = [figures.metric_by_setting(results, ["kendall_tau"]), figures.ranking_over_epochs(results),
            figures.training_loss(results), figures.scores_vs_truth(results, figures.chosen_runs(results)),
            figures.gradient_std_over_training(results), figures.gm_heatmaps(results)]
    assert all(f is not None for f in made)


def test_html_report_is_self_contained_with_every_figure_and_a_working_contents(rendered):
    html = rendered.html.read_text()
    parser = _Collector()
    parser.feed(html)
    pngs = [src for src in parser.images if src.startswith("data:image/png;base64,")]
    assert len(pngs) == FIGURES
    assert not parser.scripts, f"scripts fetched from the network: {parser.scripts}"
    assert parser.links and set(parser.links) <= parser.ids, "a contents link points nowhere"
    for heading in ("Ranking quality", "Complexity bias and gradients", "Heuristics overview"):
        assert any(heading in h for h in parser.headings), heading
    # Provenance: spec, run count, code commit, packages, date.
    assert "6 finished of 6 planned" in html  # 2 settings x 2 seeds, and MGCS x 2 and "Report made" in html and "torch " in html
    assert "def " not in html  # code hidden by default


def test_pdf_report_has_the_content_of_the_html(rendered):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(rendered.pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 5  # title and contents, then one section per notebook with its figures
    # WeasyPrint shares one image dictionary among pages: count distinct images.
    assert len({image.name for page in reader.pages for image in page.images}) == FIGURES
    for heading in ("Ranking quality", "Complexity bias and gradients", "Measured beside reported"):
        assert heading in text


def test_partly_finished_grid_renders_what_is_there_and_names_what_is_missing(grid_dir, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(grid_dir, partial)
    gone = sorted((partial / "runs").iterdir())[0]
    shutil.rmtree(gone)
    report = render_report(partial, ["html"], tmp_path / "out")
    html = report.html.read_text()
    assert "This grid is not finished: 1 planned run(s) have no result" in html
    assert gone.name in {r.key for r in report.results.missing.itertuples()}


def test_directories_without_results_are_refused_clearly(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_results(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="neither a grid"):
        load_results(tmp_path)
    with pytest.raises(ConfigError, match="allowed are html, pdf"):
        parse_formats("html,docx")


def test_report_command(grid_dir, tmp_path, capsys):
    assert main(["report", str(grid_dir), "--format", "html", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file() and not (tmp_path / "report.pdf").exists()
    assert "report of report_test: 6 runs" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 2
