"""Reports: tables and figures from a small real grid, rendered to HTML and PDF and checked as a reader would."""

import dataclasses
import math
import re
import shutil
from html.parser import HTMLParser

import matplotlib
import pandas as pd
import pytest
import yaml

pytest.importorskip("nbclient", reason="report dependencies missing: pip install -e '.[test]'")

from bench.cli import main  # noqa: E402
from bench.metrics.power import minimum_detectable_difference  # noqa: E402
from bench.report import figures, summary, tables  # noqa: E402
from bench.report.paper_numbers import PAPER_VALUES, matches  # noqa: E402
from bench.report.render import overflowing_text, parse_formats, pdf_document, render_report  # noqa: E402
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
FIGURES = 8  # paired effects (page 1), tau by setting, tau over epochs, loss, score vs truth, CB/C3, gradient std, GM
matplotlib.use("Agg")


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
        self.table_headers: list[list[str]] = []  # per <table>: the text of each header cell of its <thead>
        self._in_heading = False
        self._in_thead = self._in_th = False

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_thead = False
        if tag == "th":
            self._in_th = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.table_headers.append([])
        if tag == "thead":
            self._in_thead = True
        if tag == "th" and self._in_thead:
            self._in_th = True
            self.table_headers[-1].append("")
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
        if self._in_th:
            self.table_headers[-1][-1] += data
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
    made = [figures.paired_effects(summary.paired_effects(results), results.baseline),
            figures.metric_by_setting(results, ["kendall_tau"]), figures.ranking_over_epochs(results),
            figures.training_loss(results), figures.scores_vs_truth(results, figures.chosen_runs(results)),
            figures.gradient_std_over_training(results), figures.gm_heatmaps(results),
            figures.metric_by_setting(results, ["complexity_bias", "complexity_bias_matched",
                                                "complexity_convergence_correlation"])]
    assert all(f is not None for f in made)
    # Legible on paper: no text under 7 pt at the size the PDF prints the figure.
    for fig in made:
        assert figures.smallest_printed_font(fig) >= figures.MIN_PRINTED_PT, fig.axes[0].get_xlabel()
        matplotlib.pyplot.close(fig)


def test_score_vs_truth_text_says_why_it_shows_one_panel(grid_dir):
    results = load_results(grid_dir)
    keys = figures.chosen_runs(results)
    assert figures.chosen_runs_text(results, keys).startswith("Two panels" if len(keys) == 2 else "One panel")
    # The baseline best: one panel, and the text says why.
    runs = results.runs.copy()
    runs.loc[runs["setting"] == results.baseline, "kendall_tau"] += 1.0
    best_is_baseline = dataclasses.replace(results, runs=runs)
    keys = figures.chosen_runs(best_is_baseline)
    assert len(keys) == 1
    assert "baseline also has the best mean Kendall tau" in figures.chosen_runs_text(best_is_baseline, keys)


def test_top_of_the_ranking_shows_br_wr_where_runs_have_them(grid_dir):
    results = load_results(grid_dir)
    top = tables.top_of_ranking(results)
    assert {"top-5% precision", "BR@5%", "WR@5%", "BR@1%", "WR@10%"} <= set(top.index)
    assert list(top.columns) == [s.replace(",", ", ") for s in results.settings]
    cell = top.loc["BR@5%", top.columns[0]]
    runs = results.runs[results.runs["setting"] == results.baseline]
    assert cell.startswith(f"{runs['best_rank_at_5pct'].mean():.3f} [")
    assert "BR@5%: how close to the best subnet of the pool" in tables.top_of_ranking_caption(top)
    # Older runs without BR / WR: their rows are left out, silently.
    older = dataclasses.replace(results, runs=results.runs.drop(columns=[c for c in results.runs.columns
                                                                          if "_rank_at_" in c]))
    top = tables.top_of_ranking(older)
    assert list(top.index) == ["top-5% precision", "top-10% precision"]
    assert "BR@" not in tables.top_of_ranking_caption(top)


def test_tables_for_print_say_na_not_nan(grid_dir):
    results = load_results(grid_dir)
    table = tables.per_setting(results, ["kendall_tau", "mgcs_A1"])  # MGCS: only the MGCS setting measures it
    shown = tables.printable(table)
    assert table.isna().any().any() and "n/a" in shown.to_numpy()
    assert not any("nan" in str(v).lower() for v in shown.to_numpy().ravel())
    assert list(shown.columns) == ["Kendall tau", "MGCS n=1"]
    assert tables.legend(["complexity_bias_matched", "grad_std_within_clusters"]) == (
        "CB-m = CB-matched, among pairs of nearly equal true accuracy (0.5 = none) (`complexity_bias_matched`); "
        "std (MS) = gradient std within each MS cluster's stream, mean over clusters (`grad_std_within_clusters`).")


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
    assert "6 finished of 6 planned" in html  # 2 settings x 2 seeds, and MGCS x 2
    assert "Report made" in html and "torch " in html
    assert "def " not in html  # code hidden by default


def test_pdf_report_has_the_content_of_the_html(rendered):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(rendered.pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 5  # summary, provenance and contents, then one section per notebook with its figures
    # WeasyPrint shares one image dictionary among pages: count distinct images.
    assert len({image.name for page in reader.pages for image in page.images}) == FIGURES
    for heading in ("Ranking quality", "Complexity bias and gradients", "Measured beside reported"):
        assert heading in text


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_shows_every_table_header_of_the_html_within_the_page(rendered):
    pypdf = pytest.importorskip("pypdf")
    parser = _Collector()
    html = rendered.html.read_text()
    parser.feed(html)
    headers = [h.strip() for table in parser.table_headers for h in table if h.strip()]
    assert len(parser.table_headers) >= 8 and "BR@5%" in html  # the top of the ranking, with BR / WR
    text = _squeezed("".join(page.extract_text() for page in pypdf.PdfReader(rendered.pdf).pages))
    missing = [h for h in headers if _squeezed(h) not in text]  # a header wrapped over lines is still found
    assert not missing, f"table headers of the HTML absent from the PDF: {missing}"
    # Present in the PDF's text is not enough: text past the paper's edge is still in the file, cut off.
    assert overflowing_text(pdf_document(html)) == []


def test_pdf_opens_with_the_summary_and_leaves_out_empty_sections(rendered):
    pypdf = pytest.importorskip("pypdf")
    pages = [page.extract_text() for page in pypdf.PdfReader(rendered.pdf).pages]
    first = _squeezed(pages[0])
    assert _squeezed("What this grid found") in first and _squeezed("compared with lr_schedule=cosine") in first
    assert _squeezed("could not have been detected") in first and "About this report" not in pages[0]
    assert "About this report" in pages[1]
    html = rendered.html.read_text()
    # The grid has no split runs: one line says so, and none of the N-shot section's headings is printed.
    assert "No split runs in this grid (every run is one-shot): the N-shot section is omitted." in html
    assert "N-shot supernets" not in html and ">Compute" not in html
    words = set(re.sub(r"<[^>]+>", " ", html).split())  # the text, without tags (nor the images' data)
    assert not words & {"NaN", "nan"}, "a table shows NaN where it means n/a"


def test_sections_with_nothing_to_show_make_way_for_one_line():
    import nbformat

    from bench.report.render import CONTENTS_TAG, OMIT_KEY, prune_omitted

    def omitted(reason):
        return nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": f"*{reason}*"}, metadata={OMIT_KEY: True})])

    md = nbformat.v4.new_markdown_cell
    cells = [md('**Contents**', metadata={"tags": [CONTENTS_TAG]}),
             md('# Ranking <a id="ranking"></a>'), nbformat.v4.new_code_cell("x = 1"),
             md('## Kept <a id="kept"></a>\n\ntext'), nbformat.v4.new_code_cell("x = 2"),
             md('## Empty <a id="empty"></a>\n\ntext'), omitted("Nothing here: the empty section is omitted."),
             md('# N-shot <a id="n-shot"></a>'), omitted("No split runs: the N-shot section is omitted."),
             md('## Compute <a id="compute"></a>'), nbformat.v4.new_code_cell("y = 1"),
             omitted("(inside a section left out already)")]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert prune_omitted(nb) == ["*Nothing here: the empty section is omitted.*",
                                 "*No split runs: the N-shot section is omitted.*"]
    sources = [c.source for c in nb.cells]
    assert sources[1:5] == [c.source for c in cells[1:5]]
    assert sources[5:] == ["*Nothing here: the empty section is omitted.*",
                           "*No split runs: the N-shot section is omitted.*"]
    assert nb.cells[0].source == "**Contents**\n\n- [Ranking](#ranking)\n    - [Kept](#kept)"


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


# -- the first page ------------------------------------------------------------------------------------------


def test_minimum_detectable_difference_matches_a_hand_computation():
    # (t_{0.975, n-1} + t_{0.80, n-1}) * sd / sqrt(n), t quantiles from a printed table.
    assert minimum_detectable_difference(0.1, 2) == pytest.approx((12.706 + 1.376) * 0.1 / math.sqrt(2), rel=1e-3)
    assert minimum_detectable_difference(0.1, 3) == pytest.approx((4.303 + 1.061) * 0.1 / math.sqrt(3), rel=1e-3)
    assert minimum_detectable_difference(0.05, 20) == pytest.approx((2.093 + 0.861) * 0.05 / math.sqrt(20),
                                                                    rel=1e-3)
    assert minimum_detectable_difference(0.0, 5) == 0.0
    assert math.isnan(minimum_detectable_difference(0.1, 1))
    assert math.isnan(minimum_detectable_difference(float("nan"), 4))
    with pytest.raises(ValueError, match="power"):
        minimum_detectable_difference(0.1, 3, power=1.5)


def _effects(rows):
    return pd.DataFrame(rows, columns=["label", "effect", "ci_low", "ci_high", "distinguishable", "n", "sd"])


def test_first_page_names_the_distinguishable_effect_and_what_the_seeds_could_detect():
    effects = _effects([("ms", 0.05, 0.01, 0.09, True, 3, 0.01),
                        ("calr", -0.01, -0.06, 0.04, False, 3, 0.04),
                        ("calr, ms", 0.02, -0.03, 0.08, False, 3, 0.05)])
    sentences = summary.first_page_sentences(effects, "cosine/shared")
    assert sentences[0] == ("Of 3 settings compared with cosine/shared, 1 changes Kendall tau distinguishably: "
                            "ms (+0.05 [+0.01, +0.09]).")
    # By hand: 3.097 sd for 3 seeds (5% two-sided, 80% power).
    assert sentences[1] == ("With 3 paired seeds, differences smaller than 0.03 (ms), 0.12 (calr) and 0.15 "
                            "(calr, ms) could not have been detected (80% power, paired t-test).")
    assert sentences[2] == "Observed effects at least that large: ms (+0.05)."
    assert "screening flag" in sentences[-1]


def test_first_page_says_when_no_effect_is_distinguishable():
    effects = _effects([("ms", 0.03, -0.02, 0.07, False, 2, 0.021)])
    sentences = summary.first_page_sentences(effects, "lr_schedule=cosine,momentum_buffers=shared")
    assert sentences[0] == ("Of 1 setting compared with lr_schedule=cosine, momentum_buffers=shared, none changes "
                            "Kendall tau distinguishably (the paired 95% interval includes zero).")
    assert sentences[1] == ("With 2 paired seeds, differences smaller than 0.21 could not have been detected "
                            "(80% power, paired t-test).")  # 9.96 x 0.021
    assert sentences[2].startswith("No observed effect is as large as that")
    assert "range of the two per-seed differences" in sentences[3]


def test_first_page_with_one_seed_says_there_is_no_interval():
    effects = _effects([("ms", 0.05, math.nan, math.nan, False, 1, math.nan),
                        ("calr", -0.004, math.nan, math.nan, False, 1, math.nan)])
    sentences = summary.first_page_sentences(effects, "cosine/shared")
    assert sentences[0] == ("Of 2 settings compared with cosine/shared, none can be called distinguishable: with "
                            "one seed per setting there is no interval, only a single difference in Kendall tau: "
                            "ms +0.05 and calr -0.004.")
    assert "at least 2 seeds" in sentences[1] and len(sentences) == 2
    # A grid of one setting has nothing to compare.
    assert "single setting" in summary.first_page_sentences(_effects([]), "cosine")[0]
    spread = summary.first_page_sentences(_effects([]), "cosine", baseline_values=[0.2, 0.4, 0.3])[0]
    assert "Over its 3 seeds, Kendall tau is 0.300 ± 0.100 (sd; 0.200 to 0.400)." in spread


def test_first_page_of_a_real_grid(grid_dir):
    results = load_results(grid_dir)
    effects = summary.paired_effects(results)
    overview = tables.heuristics_overview(results, metrics=("kendall_tau",))
    assert list(effects["effect"]) == list(overview["kendall_tau_effect"])  # the overview's numbers, reused
    assert list(effects["mde"]) == pytest.approx([minimum_detectable_difference(sd, n) for sd, n in
                                                  zip(overview["kendall_tau_sd"], overview["kendall_tau_pairs"])])
    assert list(effects["label"]) == [tables.setting_label(s, results.baseline) for s in results.settings[1:]]
    assert summary.first_page_sentences(effects, results.baseline)[0].startswith(
        f"Of {len(results.settings) - 1} settings compared with {results.baseline.replace(',', ', ')}, ")


def test_power_analysis_with_the_grid_as_pilot(grid_dir, capsys):
    from bench.metrics.power import seeds_needed
    from bench.report.tables import power_analysis

    results = load_results(grid_dir)
    table = power_analysis(results, "kendall_tau", 0.05)
    overview = tables.heuristics_overview(results, ("kendall_tau",))
    assert list(table["setting"]) == list(overview["setting"]) and (table["pairs"] == 2).all()
    for row, (_, ref) in zip(table.itertuples(), overview.iterrows()):
        assert row.mde == pytest.approx(ref["kendall_tau_mde"])
        assert row.seeds_needed == seeds_needed(ref["kendall_tau_sd"], 0.05)
    assert main(["power", str(grid_dir), "--difference", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "seeds needed to detect 0.1" in out and table["setting"].iloc[0][:40] in out
    assert main(["power", str(grid_dir), "--metric", "nope"]) == 2
    assert "metric 'nope' is not in the runs" in capsys.readouterr().err
    assert main(["grid", str(grid_dir / "spec.yaml"), "--out", str(grid_dir), "--dry-run", "--no-measure"]) == 0
    assert "power, with the finished runs as a pilot" in capsys.readouterr().out


# -- the figures of statistics across seeds, on a small made-up grid ---------------------------------------------


def _made_up_results():
    """Three settings with 4, 4 and 3 seeds of tau and the bias metrics; no grid run needed."""
    from pathlib import Path

    from bench.report.results import Results

    rows = []
    for i, setting in enumerate(["lr_schedule=cosine", "lr_schedule=calr", "lr_schedule=calr,momentum_buffers=ms"]):
        for seed in range(3 if i == 2 else 4):
            wobble = 0.01 * ((seed * 7 + i * 3) % 5 - 2)
            rows.append({"setting": setting, "seed": seed, "key": f"{setting}/seed{seed}",
                         "kendall_tau": 0.40 + 0.05 * i + wobble, "complexity_bias": 0.70 - 0.03 * i + wobble,
                         "complexity_bias_matched": 0.55 + wobble, "complexity_convergence_correlation": -0.2 + wobble})
    return Results(directory=Path("made-up"), runs=pd.DataFrame(rows), scores=pd.DataFrame(),
                   history=pd.DataFrame())


def _rows(ax, artists):
    """The y tick (row) each artist's finite points lie closest to, one entry per point."""
    import numpy as np

    rows = []
    for artist in artists:
        points = np.asarray(artist.get_offsets() if hasattr(artist, "get_offsets") else artist.get_xydata(), float)
        points = points[np.isfinite(points).all(axis=1)]
        rows += [int(round(y)) for y in points[:, 1]]
    return rows


def test_metric_by_setting_draws_every_seed_and_the_bootstrap_interval():
    results = _made_up_results()
    bias = ["complexity_bias", "complexity_bias_matched", "complexity_convergence_correlation"]
    fig = figures.metric_by_setting(results, ["kendall_tau"] + bias)
    assert figures.smallest_printed_font(fig) >= figures.MIN_PRINTED_PT
    summary_table = tables.long_summary(results, ["kendall_tau"] + bias)
    for ax, metric in zip(fig.axes, ["kendall_tau"] + bias):
        # One point per seed, in its setting's row, at the seed's value.
        seeds = [c for c in ax.collections if c.get_gid() == "seed"]
        expected = results.runs.groupby("setting", sort=False).size()
        counted = pd.Series(_rows(ax, seeds)).value_counts()
        assert [counted[i] for i in range(len(results.settings))] == [expected[s] for s in results.settings]
        drawn = sorted(x for c in seeds for x in c.get_offsets()[:, 0])
        assert drawn == pytest.approx(sorted(results.runs[metric]))
        # Per setting: the mean and its 95% interval, the very numbers of the tables (seed_summary's bootstrap).
        for row, (_, stats) in enumerate(summary_table[summary_table["metric"] == metric].iterrows()):
            intervals = [line for line in ax.lines if line.get_gid() == "interval" and set(_rows(ax, [line])) == {row}]
            assert len(intervals) == 1, (metric, row)
            xs = [x for x in intervals[0].get_xdata() if not math.isnan(x)]
            assert (min(xs), max(xs)) == pytest.approx((stats["ci_low"], stats["ci_high"]))
            means = [line for line in ax.lines if line.get_gid() == "mean" and set(_rows(ax, [line])) == {row}]
            assert [x for x in means[0].get_xdata() if not math.isnan(x)] == pytest.approx([stats["mean"]])
    # The "no bias" line: 0.5 for CB-matched, 0 for C3, none for CB (docs/metrics.md: its neutral level is not 0.5),
    # and the figure says why.
    neutral = {ax.get_xlabel(): [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"]
               for ax in fig.axes}
    assert neutral == {"Kendall tau": [], "CB": [], "CB-matched": [0.5], "C3": [0.0]}
    notes = [t.get_text() for t in fig.texts if t.get_gid() == "note"]
    assert len(notes) == 1 and "not 0.5" in notes[0] and "docs/metrics.md" in notes[0]
    # Drawn the same way every time (no random jitter, a fixed bootstrap seed).
    again = figures.metric_by_setting(results, ["kendall_tau"] + bias)
    assert [c.get_offsets().tolist() for c in again.axes[0].collections] == \
        [c.get_offsets().tolist() for c in fig.axes[0].collections]
    assert not [t for t in figures.metric_by_setting(results, ["kendall_tau"]).texts if t.get_gid() == "note"]
    matplotlib.pyplot.close("all")


def test_paired_effects_draws_each_seed_difference_and_the_interval():
    results = _made_up_results()
    effects = summary.paired_effects(results)
    differences = figures.seed_differences(results)
    runs = results.runs.set_index(["setting", "seed"])["kendall_tau"]
    assert list(differences["difference"]) == pytest.approx(
        [runs[s, seed] - runs[results.baseline, seed] for s, seed in zip(differences["setting"], differences["seed"])])
    fig = figures.paired_effects(effects, results.baseline, differences=differences)
    ax = fig.axes[0]
    assert figures.smallest_printed_font(fig) >= figures.MIN_PRINTED_PT
    seeds = [c for c in ax.collections if c.get_gid() == "seed"]
    assert pd.Series(_rows(ax, seeds)).value_counts().sort_index().tolist() == [4, 3]  # one point per paired seed
    assert sorted(x for c in seeds for x in c.get_offsets()[:, 0]) == pytest.approx(sorted(differences["difference"]))
    for row, effect in enumerate(effects.itertuples()):
        intervals = [line for line in ax.collections if line.get_gid() == "interval"] + \
            [line for line in ax.lines if line.get_gid() == "interval"]
        segments = [seg for line in intervals for seg in line.get_segments()
                    if round(seg[0][1]) == row]
        assert len(segments) == 1
        assert sorted(segments[0][:, 0]) == pytest.approx([effect.ci_low, effect.ci_high])
    assert [line.get_xdata()[0] for line in ax.lines if line.get_color() == "black"] == [0]  # the zero line
    # Without the seeds' differences: the same figure, without their points.
    plain = figures.paired_effects(effects, results.baseline)
    assert not [c for c in plain.axes[0].collections if c.get_gid() == "seed"]
    assert figures.smallest_printed_font(plain) >= figures.MIN_PRINTED_PT
    matplotlib.pyplot.close("all")
