"""The reproduction page: each claim of the papers beside our measurement, with verdicts known by construction
(a fake study), and rendered from a small real grid."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from bench.cli import main
from bench.config import build_config, to_dict
from bench.grid.collect import flatten
from bench.report import reproduction as rp
from bench.spaces import nb201

SEEDS = [0, 1, 2, 3, 4]
BASE_TAU = [0.30, 0.32, 0.29, 0.33, 0.28]


def _run(setting: str, seed: int, overrides: dict, metrics: dict) -> dict:
    row = {**flatten(to_dict(build_config({}))), "key": f"{setting}-{seed}", "label": f"{setting},seed={seed}",
           "setting": setting, "status": "ok", "seed": seed}
    row.update(overrides)
    row.update(metrics)
    row.update({"torch_threads": 1, "code_version": "0.1.0+test"})
    return row


def fake_runs() -> pd.DataFrame:
    """SPOS, SPOS+MS (clearly higher tau: reproduced), beta = 0 (clearly higher tau: contradicted, the paper says
    lower), SPOS in bf16 (must neither pair with nor join the fp32 SPOS), over 5 seeds; MS's within-run gradient
    std difference and SPOS's C3 change sign from seed to seed (inconclusive)."""
    rows = []
    for i, seed in enumerate(SEEDS):
        tau = BASE_TAU[i]
        rows.append(_run("base", seed, {}, {
            "kendall_tau": tau, "complexity_bias": 0.8 + 0.01 * i, "grad_std": 0.05,
            "complexity_convergence_correlation": [-0.1, 0.1, -0.05, 0.05, 0.01][i]}))
        rows.append(_run("momentum_buffers=ms", seed, {"heuristics.momentum_buffers.name": "ms",
                                                        "heuristics.momentum_buffers.edge": 0}, {
            "kendall_tau": tau + 0.05 + [0.001, -0.002, 0.0, 0.002, -0.001][i], "grad_std": 0.05,
            "grad_std_within_clusters": 0.05 + [0.01, -0.01, 0.02, -0.02, 0.0][i]}))
        rows.append(_run("momentum=0,nesterov=false", seed, {"train.momentum": 0.0, "train.nesterov": False}, {
            "kendall_tau": tau + 0.10 + [0.002, -0.001, 0.0, 0.001, -0.002][i]}))
        rows.append(_run("precision=bf16", seed, {"train.precision": "bf16"}, {"kendall_tau": tau - 0.2}))
    return pd.DataFrame(rows)


@pytest.fixture
def fake_study(tmp_path):
    folder = tmp_path / "fake_study"
    folder.mkdir()
    fake_runs().to_parquet(folder / "runs.parquet")
    return folder


def _by_id(findings) -> dict:
    return {f.claim.id: f for f in findings}


def test_every_claim_is_well_formed_and_cites_its_paper():
    ids = [c.id for c in rp.CLAIMS]
    assert len(ids) == len(set(ids))
    for c in rp.CLAIMS:
        assert c.kind in rp.KINDS and c.direction in (-1, 0, 1)
        assert "Jeon et al., CVPR 2025" in c.source or "Hu et al., ICLR 2022" in c.source, c.source
        assert c.paper_text or c.paper is not None
        if c.kind == "difference" and c.paper is not None:
            assert (c.paper > 0) == (c.direction > 0), c.id  # the paper's sign is the claimed direction
    # the claims the page must carry (docs/papers.md)
    assert {"spos_tau", "ms_tau", "calr_ms_tau", "momentum_tau", "fairnas_tau", "fairnas_calr_ms_tau", "calr_cb",
            "calr_c3", "ms_grad_std", "mgcs_1_3", "mgcs_3_5", "gm_vs_fewshot_tau", "gm_vs_random_tau",
            "gm_groups"} <= set(ids)
    claims = _by_id([rp.Finding(c, "") for c in rp.CLAIMS])
    assert claims["ms_tau"].claim.paper == pytest.approx(0.772 - 0.751)
    assert claims["momentum_tau"].claim.paper == pytest.approx(0.615 - 0.751)
    assert claims["calr_cb"].claim.paper == pytest.approx(0.63 - 0.76)
    assert claims["calr_c3"].claim.paper == pytest.approx(-0.09 + 0.19)


def test_verdicts_of_a_fake_study_are_the_ones_built_in(fake_study, tmp_path):
    written = rp.render([fake_study], tmp_path / "out")
    found = _by_id(written.findings)
    assert found["ms_tau"].verdict == rp.REPRODUCED
    assert found["ms_tau"].n == 5  # paired with fp32 SPOS only, not with the bf16 runs
    assert found["ms_tau"].mean == pytest.approx(0.05, abs=1e-3)
    assert found["momentum_tau"].verdict == rp.CONTRADICTED  # beta = 0 raised tau here; the paper says it lowers it
    assert found["momentum_tau"].mean == pytest.approx(0.10, abs=1e-3)
    assert found["ms_grad_std"].verdict == rp.INCONCLUSIVE and found["ms_grad_std"].n == 5
    assert found["spos_c3"].verdict == rp.INCONCLUSIVE
    assert found["spos_tau"].verdict == rp.REPRODUCED  # a level above 0, from the fp32 runs only
    assert found["spos_tau"].n == 5 and found["spos_tau"].mean == pytest.approx(sum(BASE_TAU) / 5)
    assert found["spos_cb"].verdict == rp.REFERENCE  # CB has no neutral level to compare with
    for missing in ("fairnas_tau", "calr_cb", "calr_c3", "mgcs_1_3", "gm_vs_fewshot_tau", "gm_groups"):
        assert found[missing].verdict == rp.NOT_MEASURED, missing
        assert found[missing].n == 0
    # the MDE is that of the paired t-test with the pairs we have
    from bench.metrics.power import minimum_detectable_difference
    assert found["ms_tau"].mde == pytest.approx(minimum_detectable_difference(found["ms_tau"].sd, 5))

    md, html = written.markdown.read_text(), written.html.read_text()
    assert written.markdown.name == "reproduction.md" and written.html.name == "reproduction.html"
    rows = [line for line in md.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == len(rp.CLAIMS)  # every claim has its row, measured or not
    row = {c.id: r for c, r in zip(rp.CLAIMS, rows)}
    assert row["ms_tau"].endswith("| reproduced in direction |") and "0.772 vs 0.751 (+0.021)" in row["ms_tau"]
    assert "Table J" in row["ms_tau"] and "+0.050 [" in row["ms_tau"] and "| 5 |" in row["ms_tau"]
    assert row["momentum_tau"].endswith("| contradicted |")
    assert row["ms_grad_std"].endswith("| inconclusive |")
    assert row["fairnas_tau"].endswith("| not measured |")
    assert "ablations/nb201_cifar10_core.yaml" in md  # a claim without runs names the grid that has them
    for heading in ("## Claims", "## How to read this", "## Provenance"):
        assert heading in md
    assert "1 torch thread" in md and f"bench reproduce {fake_study} --out {tmp_path / 'out'}" in md
    # the HTML has the same rows and needs nothing outside itself
    assert html.count("<tr class=") == len(rp.CLAIMS)
    assert html.count(">not measured<") == md.count("| not measured |")
    assert "<script" not in html and "<link" not in html and "<style>" in html


def test_the_command_writes_both_files_and_refuses_a_folder_without_runs(fake_study, tmp_path, capsys):
    out = tmp_path / "page"
    assert main(["reproduce", str(fake_study), "--out", str(out)]) == 0
    assert (out / "reproduction.md").is_file() and (out / "reproduction.html").is_file()
    assert "reproduced in direction" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["reproduce", str(empty), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error:") and "runs.parquet" in err and "\n" not in err


def test_default_studies_are_the_folders_under_reports_with_runs(fake_study, tmp_path, monkeypatch):
    (tmp_path / "reports").mkdir()
    fake_study.rename(tmp_path / "reports" / "fake_study")
    (tmp_path / "reports" / "no_runs").mkdir()
    monkeypatch.chdir(tmp_path)
    written = rp.render(out="reports")
    assert [s.name for s in written.studies] == ["fake_study"]
    assert "`bench reproduce --out reports`" in written.markdown.read_text()
    monkeypatch.chdir(tmp_path / "reports")  # nothing under ./reports here
    with pytest.raises(rp.StudyError, match="no study folders given"):
        rp.render(out="x")


def test_random_groups_have_the_papers_grouping_2_times_in_10():
    assert rp.grouping_chance(nb201.OPS, 2) == pytest.approx(0.2)
    assert rp._papers_grouping([["none", "nor_conv_1x1", "nor_conv_3x3"], ["skip_connect", "avg_pool_3x3"]])
    assert not rp._papers_grouping([["none", "nor_conv_1x1", "skip_connect"], ["nor_conv_3x3", "avg_pool_3x3"]])


# A tiny real grid on the embedded digits: SPOS, SPOS+MS, beta = 0, MGCS and one GM split, 2 seeds (about 40 s).
GRID = {
    "name": "reproduction_test",
    "description": "tiny grid for the reproduction page",
    "base": {"train": {"epochs": 2, "batch_size": 128}, "supernet": {"C": 4, "N": 1}, "eval": {"pool_size": 10},
             "diagnostics": {"grad_window": 2}},
    "include": [
        {"heuristics.momentum_buffers": "ms"},
        {"train.momentum": 0, "train.nesterov": False},
        {"heuristics.sampling": "mgcs"},
        {"heuristics.partition": {"name": "gm", "groups": 2, "splits": 1, "warmup_epochs": 1, "gm_batches": 1,
                                  "restart": False}},
    ],
    "seeds": [0, 1],
}


def test_the_page_renders_from_a_small_grid(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(GRID))
    grid = tmp_path / "grid"
    assert main(["grid", str(spec), "--out", str(grid), "--jobs", "1", "--threads", "1", "--quiet"]) == 0
    with pytest.raises(rp.StudyError, match="bench collect"):
        rp.load_study(grid)  # not collected yet
    assert main(["collect", str(grid)]) == 0
    out = tmp_path / "page"
    assert main(["reproduce", str(grid), "--out", str(out)]) == 0
    written = rp.render([grid], out)
    found = _by_id(written.findings)
    measured = {rp.REPRODUCED, rp.CONTRADICTED, rp.INCONCLUSIVE}
    for claim_id in ("ms_tau", "momentum_tau", "ms_grad_std", "mgcs_1_3", "mgcs_3_5", "spos_c3", "gm_groups"):
        assert found[claim_id].verdict in measured, claim_id
        assert found[claim_id].n == 2, claim_id
    assert found["spos_tau"].n == 2 and found["spos_cb"].verdict == rp.REFERENCE
    assert found["fairnas_tau"].verdict == rp.NOT_MEASURED and found["calr_ms_tau"].verdict == rp.NOT_MEASURED
    assert 0.0 <= found["gm_groups"].mean <= 1.0 and found["gm_groups"].reference == pytest.approx(0.2)
    md = written.markdown.read_text()
    assert len([line for line in md.splitlines() if re.match(r"^\| \d+ \|", line)]) == len(rp.CLAIMS)
    assert "10 finished runs" in md and written.html.is_file()
