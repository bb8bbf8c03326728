"""The reproduction page: every claim of the papers beside what our studies measured, with a verdict.

``bench reproduce [STUDY_DIR ...] --out reports/`` writes ``reproduction.md``
and ``reproduction.html`` (the same content; the HTML is self-contained).
A study is a folder with a ``runs.parquet`` (one row per run: the flattened
config, the metrics): a published study under ``reports/`` or a grid
directory after ``bench collect``. Each claim of :data:`CLAIMS` gets one row:
the claim in words, its source, the paper's number, ours with a 95% interval,
the number of seeds (or runs), the smallest effect those could detect at 80%
power (MDE, :func:`bench.metrics.power.minimum_detectable_difference`) and a
verdict.

Kinds of claims and how each is measured:

- ``difference``: a setting minus a baseline, paired by seed within one
  study. A run of the setting is paired with the run of the baseline that has
  the same seed and differs from it only in the claimed knob: the config
  columns the two match dicts name, the claim's ``knobs``, and parameters of a
  heuristic that only one of the two selected. The per-pair differences go
  through :func:`bench.metrics.uncertainty.paired_difference` (their mean and
  percentile-bootstrap interval), as the reports' paired effects do
  (:mod:`bench.report.tables`).
- ``within-run``: two metrics of the same run (``grad_std_within_clusters``
  minus ``grad_std``; ``mgcs_A3`` minus ``mgcs_A1``): one difference per run.
- ``absolute``: one setting's level. Our scale is a CPU proxy, far below the
  papers', so the level is not comparable; the verdict says whether the
  level lies on the paper's side of the metric's neutral value (Kendall tau
  and C3: 0). CB has no documented neutral point (docs/metrics.md: "no bias"
  is not 0.5), so its row is shown for reference only.
- ``grouping``: which ops GM-NAS puts together; read from the ``partition.json``
  of each GM run, which only a grid directory keeps (``runs.parquet`` holds no
  split record).

Verdict (differences, within-run differences, levels against their neutral
value, grouping shares against chance): the 95% interval excludes the neutral
value on the paper's side: "reproduced in direction"; on the other side:
"contradicted"; otherwise, or with fewer than 3 seeds, pairs or runs (a bootstrap of 2 values
is only their range): "inconclusive"; no
study has the settings: "not measured" (the row stays, so that the page lists
every claim). With 3 seeds a percentile-bootstrap interval covers about 75%
of the time, not 95% (:mod:`bench.metrics.uncertainty`): a verdict from 3
seeds is a screening result.

Settings are matched to runs as :mod:`bench.report.paper_numbers` matches
them (:func:`~bench.report.paper_numbers.matches` on the flattened config
columns), with one addition: a column a study's runs lack, or leave empty,
holds the config default (runs older than an option ran with its default).
Where a study has several settings that match a level claim (SPOS in fp32
and in bf16), the level is read from those closest to the default config.
"""

from __future__ import annotations

import html
import json
import math
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench import metric_names as names
from bench.metrics.power import minimum_detectable_difference
from bench.metrics.uncertainty import paired_difference, seed_summary
from bench.report.paper_numbers import matches

RUNS_TABLE = "runs.parquet"
PAGE_NAME = "reproduction"
DEFAULT_STUDIES_ROOT = Path("reports")

REPRODUCED = "reproduced in direction"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"
REFERENCE = "scale differs, shown for reference"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, REFERENCE, NOT_MEASURED)

KINDS = ("difference", "within-run", "absolute", "grouping")


class StudyError(BenchError):
    """A study folder that cannot be read (no runs.parquet), or no study at all."""


# ---------------------------------------------------------------------------
# The claims
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """One claim of a paper, the settings it is about, and how our runs measure it.

    ``setting`` and ``baseline`` are match dicts over flattened config columns
    (as :data:`bench.report.paper_numbers.PAPER_VALUES`); ``baseline`` is None
    for a level (``absolute``) or a within-run claim. ``paper`` is the paper's
    number in the units of the row (the difference, setting minus baseline, or
    the level), None where the paper gives none in those units; ``paper_text``
    is how the page shows it. ``direction`` is the paper's sign: +1 (the
    setting is higher, or the level lies above ``neutral``), -1, or 0 (a level
    whose scale cannot be compared: shown for reference).
    """

    id: str
    text: str
    metric: str
    setting: dict
    baseline: dict | None
    paper: float | None
    source: str
    kind: str
    direction: int
    paper_text: str = ""
    baseline_metric: str | None = None  # within-run: the metric subtracted from ``metric``
    knobs: tuple[str, ...] = ()  # further config columns that may differ between paired runs
    neutral: float | None = None  # absolute: the value of "no effect"
    measured_by: str = ""  # a grid that has the settings

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r} is not one of {KINDS}")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"claim {self.id}: direction must be -1, 0 or 1")
        if (self.kind == "difference") != (self.baseline is not None):
            raise ValueError(f"claim {self.id}: a difference claim needs a baseline, other kinds none")
        if self.kind == "within-run" and not self.baseline_metric:
            raise ValueError(f"claim {self.id}: a within-run claim needs baseline_metric")


_SPOS = {"heuristics.sampling.name": "spos", "heuristics.partition.name": "one-shot"}
_FAIRNAS = {"heuristics.sampling.name": "fairnas", "heuristics.partition.name": "one-shot"}
_FSNAS = {"heuristics.sampling.name": "spos", "heuristics.partition.name": "few-shot"}
_SHARED = {"heuristics.momentum_buffers.name": "shared", "train.momentum": 0.9}
_MS = {"heuristics.momentum_buffers.name": "ms", "train.momentum": 0.9}
_BETA0 = {"heuristics.momentum_buffers.name": "shared", "train.momentum": 0.0}
_COSINE = {"heuristics.lr_schedule.name": "cosine"}
_GM = {"heuristics.sampling.name": "spos", "heuristics.partition.name": "gm",
       "heuristics.partition.edge_selection": "gm"}


def _calr(gamma_prime: float = 4.0, g: str = "log", complexity: str = "params") -> dict:
    return {"heuristics.lr_schedule.name": "calr", "heuristics.lr_schedule.gamma_prime": gamma_prime,
            "heuristics.lr_schedule.g": g, "heuristics.lr_schedule.complexity": complexity}


def _versus(setting: float, baseline: float, digits: int = 3) -> str:
    return f"{setting:.{digits}f} vs {baseline:.{digits}f} ({setting - baseline:+.{digits}f})"


# Jeon et al., "Subnet-Aware Dynamic Supernet Training for Neural Architecture Search", CVPR 2025, supplementary
# material: Kendall tau on NAS-Bench-201 / CIFAR-10, mean of 3 runs (Tables E, F, G, J, K), CB and C3 (Table D),
# MGCS (Sec. C.6, Table I); the gradient std with MS is plotted in the main paper (Sec. 3.3, Fig. 2) and the
# supplement (Fig. B). Numbers as docs/papers.md lists them.
_JEON = "Jeon et al., CVPR 2025, suppl."
# Hu et al., "Generalizing Few-Shot NAS with Gradient Matching" (GM-NAS), ICLR 2022: Table 1 (accuracy of the
# architecture found, 4 sub-supernets each, NAS-Bench-201 with 4 ops), Table 7 (Spearman among the top
# architectures), Sec. 5.1 (restart), and the groups GM forms on the 5-op space; as docs/papers.md lists them.
_HU = "Hu et al., ICLR 2022 (GM-NAS)"
_CORE = "ablations/nb201_cifar10_core.yaml"
_TABLES = "ablations/calr_ms_tables.yaml"
_GM_GRID = "ablations/gm_nas_nb201.yaml"

CLAIMS: tuple[Claim, ...] = (
    # --- Kendall tau, CaLR+MS paper ----------------------------------------------------------------------------
    # SPOS 0.751 +- 0.008: supplement Tables F, J, K.
    Claim("spos_tau", "SPOS ranks subnets better than chance (Kendall tau above 0)", names.KENDALL_TAU,
          {**_SPOS, **_SHARED, **_COSINE}, None, 0.751, f"{_JEON} Tables F, J, K", "absolute", +1,
          "0.751", neutral=0.0, measured_by=_CORE),
    # SPOS + MS 0.772 (Tables E, G, J) vs SPOS 0.751: both rows in Table J.
    Claim("ms_tau", "Momentum separation (MS) raises SPOS's Kendall tau", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_COSINE}, {**_SPOS, **_SHARED, **_COSINE}, 0.772 - 0.751, f"{_JEON} Table J",
          "difference", +1, _versus(0.772, 0.751), measured_by=_CORE),
    # SPOS + CaLR + MS 0.814 (Tables E, F, G, K) vs SPOS 0.751: both rows in Tables F and K.
    Claim("calr_ms_tau", "CaLR and MS together raise SPOS's Kendall tau", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_SHARED, **_COSINE}, 0.814 - 0.751, f"{_JEON} Tables F, K",
          "difference", +1, _versus(0.814, 0.751), measured_by=_CORE),
    # SPOS + CaLR + MS 0.814 vs SPOS + MS 0.772: both rows in Tables E and G.
    Claim("calr_on_ms_tau", "CaLR raises Kendall tau on top of MS (SPOS)", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_MS, **_COSINE}, 0.814 - 0.772, f"{_JEON} Tables E, G",
          "difference", +1, _versus(0.814, 0.772), measured_by=_CORE),
    # SPOS beta = 0: 0.615 vs SPOS 0.751, Table J. Nesterov needs momentum, so it is off with beta = 0.
    Claim("momentum_tau", "Removing momentum (beta = 0) lowers SPOS's Kendall tau", names.KENDALL_TAU,
          {**_SPOS, **_BETA0, **_COSINE}, {**_SPOS, **_SHARED, **_COSINE}, 0.615 - 0.751, f"{_JEON} Table J",
          "difference", -1, _versus(0.615, 0.751), knobs=("train.nesterov",), measured_by=_CORE),
    # FairNAS 0.766 vs SPOS 0.751, Tables F, J (the paper trains FairNAS 200 epochs, SPOS 250: epochs may differ).
    Claim("fairnas_tau", "FairNAS ranks better than SPOS", names.KENDALL_TAU,
          {**_FAIRNAS, **_SHARED, **_COSINE}, {**_SPOS, **_SHARED, **_COSINE}, 0.766 - 0.751,
          f"{_JEON} Tables F, J", "difference", +1, _versus(0.766, 0.751), knobs=("train.epochs",),
          measured_by=_CORE),
    # FairNAS + MS 0.784 (Tables E, G, J) vs FairNAS 0.766: both rows in Table J.
    Claim("fairnas_ms_tau", "MS raises FairNAS's Kendall tau", names.KENDALL_TAU,
          {**_FAIRNAS, **_MS, **_COSINE}, {**_FAIRNAS, **_SHARED, **_COSINE}, 0.784 - 0.766, f"{_JEON} Table J",
          "difference", +1, _versus(0.784, 0.766), measured_by=_TABLES),
    # FairNAS + CaLR + MS 0.828 (Tables E, F, G) vs FairNAS 0.766: both rows in Table F.
    Claim("fairnas_calr_ms_tau", "CaLR and MS together raise FairNAS's Kendall tau", names.KENDALL_TAU,
          {**_FAIRNAS, **_MS, **_calr()}, {**_FAIRNAS, **_SHARED, **_COSINE}, 0.828 - 0.766, f"{_JEON} Table F",
          "difference", +1, _versus(0.828, 0.766), measured_by=_CORE),
    # FairNAS beta = 0: 0.743 vs FairNAS 0.766, Table J (a far smaller drop than SPOS's).
    Claim("fairnas_momentum_tau", "Removing momentum lowers FairNAS's Kendall tau (less than SPOS's)",
          names.KENDALL_TAU, {**_FAIRNAS, **_BETA0, **_COSINE}, {**_FAIRNAS, **_SHARED, **_COSINE}, 0.743 - 0.766,
          f"{_JEON} Table J", "difference", -1, _versus(0.743, 0.766), knobs=("train.nesterov",),
          measured_by=_TABLES),
    # FSNAS + CaLR + MS 0.767 (Tables E, F, G) vs FSNAS 0.729 (Tables F, J): both rows in Table F.
    Claim("fsnas_calr_ms_tau", "CaLR and MS together raise few-shot (FSNAS) Kendall tau", names.KENDALL_TAU,
          {**_FSNAS, **_MS, **_calr()}, {**_FSNAS, **_SHARED, **_COSINE}, 0.767 - 0.729, f"{_JEON} Table F",
          "difference", +1, _versus(0.767, 0.729), measured_by=_GM_GRID),
    # g = log 0.814 vs g = x 0.783 and g = exp 0.774, Table E.
    Claim("calr_g_x_tau", "CaLR with g = log beats g = x (SPOS + MS)", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_MS, **_calr(g="x")}, 0.814 - 0.783, f"{_JEON} Table E",
          "difference", +1, _versus(0.814, 0.783), measured_by=_TABLES),
    Claim("calr_g_exp_tau", "CaLR with g = log beats g = exp (SPOS + MS)", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_MS, **_calr(g="exp")}, 0.814 - 0.774, f"{_JEON} Table E",
          "difference", +1, _versus(0.814, 0.774), measured_by=_TABLES),
    # complexity = parameters 0.814 vs FLOPs 0.783, Table F.
    Claim("calr_flops_tau", "CaLR with parameters as the complexity beats FLOPs (SPOS + MS)", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_MS, **_calr(complexity="flops")}, 0.814 - 0.783,
          f"{_JEON} Table F", "difference", +1, _versus(0.814, 0.783), measured_by=_TABLES),
    # gamma' = 4 0.814 vs gamma' = 2 0.787, Table K.
    Claim("calr_gamma_tau", "CaLR with gamma' = 4 beats gamma' = 2 (SPOS + MS)", names.KENDALL_TAU,
          {**_SPOS, **_MS, **_calr()}, {**_SPOS, **_MS, **_calr(gamma_prime=2.0)}, 0.814 - 0.787,
          f"{_JEON} Table K", "difference", +1, _versus(0.814, 0.787), measured_by=_TABLES),
    # CaLR 0.814 vs sampling in proportion to parameters (cosine) 0.784, both with MS, Table G.
    Claim("calr_vs_sampling_tau", "CaLR beats sampling in proportion to parameters (both with MS)",
          names.KENDALL_TAU, {**_SPOS, **_MS, **_calr()},
          {"heuristics.sampling.name": "complexity_proportional", "heuristics.partition.name": "one-shot",
           **_MS, **_COSINE}, 0.814 - 0.784, f"{_JEON} Table G", "difference", +1, _versus(0.814, 0.784),
          measured_by=_TABLES),
    # --- Complexity bias and C3, CaLR+MS paper, supplement Table D (NAS-Bench-201, CIFAR-10) ---------------------
    Claim("spos_cb", "SPOS's ranking mistakes favour small subnets (CB)", names.COMPLEXITY_BIAS,
          {**_SPOS, **_SHARED, **_COSINE}, None, 0.76, f"{_JEON} Table D", "absolute", 0, "0.76",
          measured_by=_CORE),
    Claim("spos_c3", "Large subnets are less converged in SPOS (C3 below 0)", names.COMPLEXITY_CONVERGENCE_CORRELATION,
          {**_SPOS, **_SHARED, **_COSINE}, None, -0.19, f"{_JEON} Table D", "absolute", -1, "-0.19",
          neutral=0.0, measured_by=_CORE),
    Claim("calr_cb", "CaLR lowers complexity bias (SPOS)", names.COMPLEXITY_BIAS,
          {**_SPOS, **_SHARED, **_calr()}, {**_SPOS, **_SHARED, **_COSINE}, 0.63 - 0.76, f"{_JEON} Table D",
          "difference", -1, _versus(0.63, 0.76, 2), measured_by=_CORE),
    Claim("calr_c3", "CaLR moves C3 up toward 0 (SPOS)", names.COMPLEXITY_CONVERGENCE_CORRELATION,
          {**_SPOS, **_SHARED, **_calr()}, {**_SPOS, **_SHARED, **_COSINE}, -0.09 - (-0.19), f"{_JEON} Table D",
          "difference", +1, _versus(-0.09, -0.19, 2), measured_by=_CORE),
    # --- Gradients, CaLR+MS paper ----------------------------------------------------------------------------
    # Main paper Sec. 3.3, Fig. 2 (supplement Fig. B): MS lowers the std of the gradients each buffer sees.
    Claim("ms_grad_std", "MS lowers the gradient std a momentum buffer sees (within-cluster std below the "
          "single stream's, same run)", names.GRAD_STD_WITHIN_CLUSTERS, {**_SPOS, **_MS, **_COSINE}, None, None,
          "Jeon et al., CVPR 2025, Sec. 3.3, Fig. 2; suppl. Fig. B", "within-run", -1,
          "lower (plotted, no number)", baseline_metric=names.GRAD_STD, measured_by=_CORE),
    # Supplement Sec. C.6, Table I: MGCS 0.60, 0.27, 0.09 for n = 1, 3, 5.
    Claim("mgcs_1_3", "Gradients of subnets 3 edges apart are less alike than 1 edge apart (MGCS n=3 below n=1)",
          names.MGCS_A3, {"heuristics.sampling.name": "mgcs"}, None, 0.27 - 0.60, f"{_JEON} Table I", "within-run",
          -1, _versus(0.27, 0.60, 2), baseline_metric=names.MGCS_A1, measured_by=_CORE),
    Claim("mgcs_3_5", "... and 5 edges apart less than 3 (MGCS n=5 below n=3)", names.MGCS_A5,
          {"heuristics.sampling.name": "mgcs"}, None, 0.09 - 0.27, f"{_JEON} Table I", "within-run", -1,
          _versus(0.09, 0.27, 2), baseline_metric=names.MGCS_A3, measured_by=_CORE),
    # --- GM-NAS, Hu et al., ICLR 2022 --------------------------------------------------------------------------
    # Table 1: accuracy of the architecture found (4 sub-supernets each): GM 92.52% / exhaustive (few-shot) 88.96%
    # / random grouping 88.83% with RSPS; 93.95% / 88.55% / 70.47% with DARTS. The paper reports no Kendall tau
    # for these; the direction of the tau rows is the one Table 1 implies.
    Claim("gm_vs_fewshot_tau", "Gradient-matching splits rank better than a few-shot (exhaustive) split",
          names.KENDALL_TAU, {**_GM, "heuristics.partition.grouping": "gm"}, dict(_FSNAS), None,
          f"{_HU} Table 1", "difference", +1,
          "no Kendall tau; accuracy found 92.52% vs 88.96% (RSPS), 93.95% vs 88.55% (DARTS)",
          knobs=("heuristics.partition.warmup_epochs",), measured_by=_GM_GRID),
    Claim("gm_vs_random_tau", "Gradient-matching groups rank better than random groups", names.KENDALL_TAU,
          {**_GM, "heuristics.partition.grouping": "gm"}, {**_GM, "heuristics.partition.grouping": "random"},
          None, f"{_HU} Table 1", "difference", +1,
          "no Kendall tau; accuracy found 92.52% vs 88.83% (RSPS), 93.95% vs 70.47% (DARTS)",
          measured_by=_GM_GRID),
    Claim("gm_vs_fewshot_acc", "Gradient-matching splits find a better architecture than a few-shot split",
          names.FINAL_ACCURACY_TOP1, {**_GM, "heuristics.partition.grouping": "gm"}, dict(_FSNAS), 92.52 - 88.96,
          f"{_HU} Table 1", "difference", +1, _versus(92.52, 88.96, 2) + " (RSPS; % points)",
          knobs=("heuristics.partition.warmup_epochs",), measured_by=_GM_GRID),
    Claim("gm_vs_random_acc", "Gradient-matching groups find a better architecture than random groups",
          names.FINAL_ACCURACY_TOP1, {**_GM, "heuristics.partition.grouping": "gm"},
          {**_GM, "heuristics.partition.grouping": "random"}, 92.52 - 88.83, f"{_HU} Table 1", "difference", +1,
          _versus(92.52, 88.83, 2) + " (RSPS; % points)", measured_by=_GM_GRID),
    # Table 7: Spearman among the top 1% of NAS-Bench-201: GM (2 branches, 4 splits) 0.532, few-shot 0.117.
    Claim("gm_vs_fewshot_top1", "Gradient-matching splits order the best cells better than a few-shot split",
          names.space_top(names.SPEARMAN, 1), {**_GM, "heuristics.partition.grouping": "gm"}, dict(_FSNAS),
          0.532 - 0.117, f"{_HU} Table 7 (top 1%)", "difference", +1, _versus(0.532, 0.117),
          knobs=("heuristics.partition.warmup_epochs",), measured_by=_GM_GRID),
    # Sec. 5.1: without re-initializing the leaves after the last split, 2.91 points lower accuracy.
    Claim("gm_restart_acc", "Re-initializing the leaves after the last split (restart) helps GM-NAS",
          names.FINAL_ACCURACY_TOP1, {**_GM, "heuristics.partition.restart": True},
          {**_GM, "heuristics.partition.restart": False}, 2.91, f"{_HU} Sec. 5.1", "difference", +1,
          "+2.91 points of accuracy found",
          measured_by="a grid of GM runs with heuristics.partition.restart true and false"),
    # The 5-op space: GM puts conv 1x1 with conv 3x3 and skip with avg-pool.
    Claim("gm_groups", "GM groups conv 1x1 with conv 3x3, and skip with avg-pool (5-op space)", "gm_grouping",
          {**_GM, "heuristics.partition.grouping": "gm", "supernet.op_set": "all"}, None, None,
          f"{_HU}, 5-op NAS-Bench-201", "grouping", +1, "{conv 1x1, conv 3x3} | {skip, avg-pool}",
          measured_by=f"the grid directory of {_GM_GRID} (its runs' partition.json)"),
)


# ---------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------

@dataclass
class Study:
    """A folder's finished runs: ``name`` (the folder's), ``path``, ``runs`` (status ok)."""

    name: str
    path: Path
    runs: pd.DataFrame

    @property
    def has_run_dirs(self) -> bool:
        return (self.path / "runs").is_dir()


def load_study(path: str | Path) -> Study:
    """The finished runs of a study folder (its ``runs.parquet``); a one-line error without one."""
    root = Path(path)
    if not root.is_dir():
        raise StudyError(f"study folder {root} does not exist; give a folder with a {RUNS_TABLE} (a published "
                         f"study under reports/, or a grid directory after `bench collect`)")
    table = root / RUNS_TABLE
    if not table.is_file():
        hint = (f"run `bench collect {root}` first" if (root / "runs").is_dir() or (root / "grid.json").is_file()
                else "give a published study under reports/ or a grid directory after `bench collect`")
        raise StudyError(f"{root} has no {RUNS_TABLE}: {hint}")
    runs = pd.read_parquet(table)
    if names.STATUS in runs.columns:
        runs = runs[runs[names.STATUS] == "ok"]
    if names.KEY not in runs.columns:
        runs = runs.assign(**{names.KEY: [f"{root.name}:{i}" for i in range(len(runs))]})
    if names.SETTING not in runs.columns:
        runs = runs.assign(**{names.SETTING: "base"})
    return Study(root.name, root, runs.reset_index(drop=True))


def default_studies(root: str | Path = DEFAULT_STUDIES_ROOT) -> list[Path]:
    """Every folder directly under ``root`` that holds a runs.parquet, in name order."""
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / RUNS_TABLE).is_file())


# ---------------------------------------------------------------------------
# Matching runs to settings
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def config_defaults() -> dict:
    """The default config, flattened into runs.parquet's dotted columns."""
    from bench.config import build_config, to_dict
    from bench.grid.collect import flatten

    return flatten(to_dict(build_config({})))


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _filled(row, column: str):
    """The run's value of a config column, or the config default where the run lacks it."""
    value = row.get(column) if hasattr(row, "get") else None
    return config_defaults().get(column) if _missing(value) else value


def _same(a, b) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    try:
        return abs(float(a) - float(b)) <= 1e-9
    except (TypeError, ValueError):
        return str(a) == str(b)


def claim_matches(row, match: dict) -> bool:
    """:func:`bench.report.paper_numbers.matches` on the run's config with defaults filled in."""
    return matches({key: _filled(row, key) for key in match}, match)


def _is_parameter(column: str) -> bool:
    parts = column.split(".")
    return parts[0] == "heuristics" and len(parts) >= 3 and parts[-1] != "name"


def _config_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if "." in c]


def _differences(a, b, columns: list[str]) -> list[str]:
    """Config columns whose values differ between runs ``a`` and ``b`` (a parameter of a heuristic that only one
    of them selected does not count: the change of the heuristic's name says it)."""
    out = []
    for column in columns:
        raw_a, raw_b = a.get(column), b.get(column)
        if _is_parameter(column):
            if _missing(raw_a) or _missing(raw_b):
                continue
            if not _same(raw_a, raw_b):
                out.append(column)
        elif not _same(_filled(a, column), _filled(b, column)):
            out.append(column)
    return out


def _non_default(row, columns: list[str], skip: set[str]) -> int:
    defaults = config_defaults()
    return sum(1 for c in columns if c not in skip and c in defaults and not _missing(row.get(c))
               and not _same(row.get(c), defaults[c]))


# ---------------------------------------------------------------------------
# Measuring a claim
# ---------------------------------------------------------------------------

@dataclass
class Finding:
    """What our studies say about one claim."""

    claim: Claim
    verdict: str
    n: int = 0  # paired seeds (difference), runs (within-run, level, grouping)
    mean: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    sd: float = math.nan
    mde: float = math.nan
    seeds: list = field(default_factory=list)
    used: str = ""  # which studies and settings
    reason: str = ""  # why a claim is not measured, or what the number means
    reference: float | None = None  # the value the verdict compares with (0, a neutral level, chance)


MIN_UNITS = 3  # seeds, pairs or runs a verdict needs


def _verdict(claim: Claim, n: int, low: float, high: float, reference: float) -> str:
    if n == 0:
        return NOT_MEASURED
    if claim.direction == 0:
        return REFERENCE
    # A percentile bootstrap of 2 values is just their range, not an interval: no verdict below 3.
    if n < MIN_UNITS or math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if low > reference:
        observed = 1
    elif high < reference:
        observed = -1
    else:
        return INCONCLUSIVE
    return REPRODUCED if observed == claim.direction else CONTRADICTED


def _usage(counter: Counter) -> str:
    return "; ".join(f"{study}: {what} ({n})" for (study, what), n in counter.items())


def _measure_difference(claim: Claim, studies: Sequence[Study]) -> Finding:
    allowed = set(claim.setting) | set(claim.baseline or {}) | set(claim.knobs)
    a, b, seen, used = {}, {}, set(), Counter()
    for study in studies:
        runs = study.runs
        if claim.metric not in runs.columns:
            continue
        columns = [c for c in _config_columns(runs) if c not in allowed]
        rows = runs.to_dict("records")
        treated = [r for r in rows if claim_matches(r, claim.setting)]
        bases = [r for r in rows if claim_matches(r, claim.baseline)]
        for t in treated:
            candidates = []
            for base in bases:
                if base[names.KEY] == t[names.KEY] or not _same(base.get(names.SEED), t.get(names.SEED)):
                    continue
                if _differences(t, base, columns):
                    continue  # differs in more than the claimed knob
                changed = _differences(t, base, sorted(allowed & set(runs.columns)))
                candidates.append((len(changed), str(base[names.KEY]), base))  # the closest baseline run wins
            if not candidates:
                continue
            base = min(candidates, key=lambda c: (c[0], c[1]))[2]
            pair = (str(t[names.KEY]), str(base[names.KEY]))
            if pair in seen:
                continue
            seen.add(pair)
            va, vb = pd.to_numeric(base.get(claim.metric), errors="coerce"), pd.to_numeric(
                t.get(claim.metric), errors="coerce")
            if _missing(va) or _missing(vb):
                continue
            unit = (study.name, pair, t.get(names.SEED))
            a[unit], b[unit] = float(va), float(vb)
            used[(study.name, f"{t[names.SETTING]} minus {base[names.SETTING]}")] += 1
    if not a:
        knobs = ", ".join(f"`{k}`" for k in claim.knobs)
        return Finding(claim, NOT_MEASURED, reason=(
            "no study has runs of both settings with the same seed that differ only in the claimed knob"
            + (f" (and {knobs})" if knobs else "") + f"; {claim.measured_by} has them"))
    d = paired_difference(a, b)
    finding = Finding(claim, "", d["n"], d["mean"], d["ci_low"], d["ci_high"], d["std"],
                      minimum_detectable_difference(d["std"], d["n"]),
                      sorted({u[2] for u in d["seeds"]}, key=repr), _usage(used), reference=0.0)
    finding.verdict = _verdict(claim, finding.n, finding.ci_low, finding.ci_high, 0.0)
    return finding


def _level_runs(claim: Claim, studies: Sequence[Study]) -> list[tuple[Study, dict]]:
    """Runs that match ``claim.setting``, each once (by key); within a study, the matching settings closest to the
    default config (fp32 SPOS rather than bf16 SPOS where a study has both)."""
    out, seen = [], set()
    for study in studies:
        rows = [r for r in study.runs.to_dict("records") if claim_matches(r, claim.setting)]
        if not rows:
            continue
        columns = _config_columns(study.runs)
        skip = set(claim.setting)
        counts = [_non_default(r, columns, skip) for r in rows]
        fewest = min(counts)
        for r, c in zip(rows, counts):
            if c == fewest and r[names.KEY] not in seen:
                seen.add(r[names.KEY])
                out.append((study, r))
    return out


def _summarize(claim: Claim, units: list[tuple[Study, dict, float]], reference: float) -> Finding:
    values = np.array([v for _, _, v in units], dtype=float)
    s = seed_summary(values)
    used = Counter((study.name, str(r.get(names.SETTING))) for study, r, _ in units)
    finding = Finding(claim, "", s["n"], s["mean"], s["ci_low"], s["ci_high"], s["std"],
                      minimum_detectable_difference(s["std"], s["n"]),
                      sorted({r.get(names.SEED) for _, r, _ in units}, key=repr), _usage(used), reference=reference)
    finding.verdict = _verdict(claim, finding.n, finding.ci_low, finding.ci_high, reference)
    return finding


def _measure_level(claim: Claim, studies: Sequence[Study]) -> Finding:
    units = []
    for study, r in _level_runs(claim, studies):
        v = pd.to_numeric(r.get(claim.metric), errors="coerce")
        if not _missing(v):
            units.append((study, r, float(v)))
    if not units:
        return Finding(claim, NOT_MEASURED, reason=f"no study has runs of this setting with `{claim.metric}`; "
                                                   f"{claim.measured_by} has them")
    reference = 0.0 if claim.neutral is None else claim.neutral
    finding = _summarize(claim, units, reference)
    if claim.direction == 0:
        finding.reason = ("CB has no neutral level: complexity-blind noise already gives about 0.63 to 0.71 on "
                          "NAS-Bench-201 samples (docs/metrics.md), and our proxy's level differs")
    return finding


def _measure_within_run(claim: Claim, studies: Sequence[Study]) -> Finding:
    units, seen = [], set()
    for study in studies:
        runs = study.runs
        if claim.metric not in runs.columns or claim.baseline_metric not in runs.columns:
            continue
        for r in runs.to_dict("records"):
            if r[names.KEY] in seen or not claim_matches(r, claim.setting):
                continue
            v = pd.to_numeric(r.get(claim.metric), errors="coerce")
            w = pd.to_numeric(r.get(claim.baseline_metric), errors="coerce")
            if _missing(v) or _missing(w):
                continue
            seen.add(r[names.KEY])
            units.append((study, r, float(v) - float(w)))
    if not units:
        return Finding(claim, NOT_MEASURED, reason=f"no run has both `{claim.metric}` and "
                                                   f"`{claim.baseline_metric}`; {claim.measured_by} has such runs")
    return _summarize(claim, units, 0.0)


# The ops of the grouping claim, by their NAS-Bench-201 names.
_CONVS = ("nor_conv_1x1", "nor_conv_3x3")
_CHEAP = ("skip_connect", "avg_pool_3x3")


def _papers_grouping(groups) -> bool:
    """conv 1x1 and conv 3x3 in one group, skip and avg-pool together in another."""
    where = {op: i for i, group in enumerate(groups) for op in group}
    if not all(op in where for op in _CONVS + _CHEAP):
        return False
    return where[_CONVS[0]] == where[_CONVS[1]] and where[_CHEAP[0]] == where[_CHEAP[1]] and \
        where[_CONVS[0]] != where[_CHEAP[0]]


def grouping_chance(ops: Sequence[str], groups: int) -> float:
    """The share of balanced partitions of ``ops`` into ``groups`` groups that have the paper's grouping (what
    random grouping gives): 2 of 10 for the 5 ops into 2 groups."""
    from bench.splitting import balanced_partitions

    partitions = balanced_partitions(ops, groups)
    return sum(_papers_grouping(p) for p in partitions) / len(partitions)


def _measure_grouping(claim: Claim, studies: Sequence[Study]) -> Finding:
    units, chances, without_records = [], [], []
    for study in studies:
        rows = [r for r in study.runs.to_dict("records") if claim_matches(r, claim.setting)]
        for r in rows:
            path = study.path / "runs" / str(r[names.KEY]) / "partition.json"
            if not path.is_file():
                without_records.append(study.name)
                continue
            events = [e for e in json.loads(path.read_text()).get("events", []) if e.get("cut_rule") == "gm"]
            hits, chance = [], []
            for event in events:
                ops = [op for group in event["groups"] for op in group]
                if not all(op in ops for op in _CONVS + _CHEAP):
                    continue
                hits.append(_papers_grouping(event["groups"]))
                chance.append(grouping_chance(ops, len(event["groups"])))
            if hits:
                units.append((study, r, float(np.mean(hits)) - float(np.mean(chance))))
                chances.append(float(np.mean(chance)))
    if not units:
        if without_records:
            why = (f"runs.parquet holds no split record, and {', '.join(sorted(set(without_records)))} keeps no "
                   "run folders; the groups GM chose are in each GM run's partition.json")
        else:
            why = "no study has GM runs with gradient-matching groups on the 5-op space"
        return Finding(claim, NOT_MEASURED, reason=f"{why}: {claim.measured_by} would measure it")
    finding = _summarize(claim, units, 0.0)
    chance = float(np.mean(chances))
    # Shown as the share of GM splits with the paper's grouping; the verdict compares it with chance.
    finding.mean, finding.ci_low, finding.ci_high = (finding.mean + chance, finding.ci_low + chance,
                                                    finding.ci_high + chance)
    finding.reference = chance
    finding.reason = (f"share of GM splits (per run, mean over runs) that group as the paper says; random "
                      f"balanced groups give {chance:.2f}")
    return finding


def evaluate(studies: Sequence[Study], claims: Sequence[Claim] = CLAIMS) -> list[Finding]:
    """One finding per claim, in the order of ``claims``."""
    measure = {"difference": _measure_difference, "absolute": _measure_level,
               "within-run": _measure_within_run, "grouping": _measure_grouping}
    return [measure[c.kind](c, studies) for c in claims]


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------

COLUMNS = ["#", "claim", "source", "paper", "ours [95% CI]", "n", "MDE", "verdict"]


def _number(value: float, digits: int = 3, sign: bool = False) -> str:
    if value is None or _missing(value):
        return "n/a"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text.replace("-0." + "0" * digits, "0." + "0" * digits).replace("+0." + "0" * digits, "0." + "0" * digits)


def _digits(claim: Claim) -> int:
    return 2 if claim.metric == names.FINAL_ACCURACY_TOP1 else 3


def ours_text(f: Finding) -> str:
    """Our number as the table shows it: mean [95% CI], signed for differences."""
    if f.verdict == NOT_MEASURED:
        return "-"
    signed = f.claim.kind in ("difference", "within-run")
    digits = _digits(f.claim)
    value = _number(f.mean, digits, signed)
    if f.n < 2 or _missing(f.ci_low):
        return f"{value} (1 {'pair' if f.claim.kind == 'difference' else 'run'}, no interval)"
    return f"{value} [{_number(f.ci_low, digits, signed)}, {_number(f.ci_high, digits, signed)}]"


def table_rows(findings: Sequence[Finding]) -> list[list[str]]:
    rows = []
    for i, f in enumerate(findings, 1):
        c = f.claim
        what = f"{c.text} (`{c.metric}`" + (f" minus `{c.baseline_metric}`" if c.baseline_metric else "") + ")" \
            if c.kind != "grouping" else c.text
        rows.append([str(i), what, c.source, c.paper_text or _number(c.paper), ours_text(f),
                     str(f.n) if f.verdict != NOT_MEASURED else "0",
                     _number(f.mde, _digits(c)) if f.verdict != NOT_MEASURED else "-", f.verdict])
    return rows


def _detail(i: int, f: Finding) -> str:
    c = f.claim
    if f.verdict == NOT_MEASURED:
        return f"{i}. `{c.id}` (not measured): {f.reason}."
    what = {"difference": "paired by seed, setting minus baseline",
            "within-run": f"`{c.metric}` minus `{c.baseline_metric}` in each run",
            "absolute": "level over runs", "grouping": "per run"}[c.kind]
    seeds = ", ".join(str(s) for s in f.seeds)
    text = f"{i}. `{c.id}` ({what}; seeds {seeds}): {f.used}."
    if f.reason:
        text += f" {f.reason[0].upper()}{f.reason[1:]}."
    if c.kind == "absolute" and c.direction != 0:
        text += f" Compared with {_number(f.reference, 1)} (no effect)."
    return text


HOW_TO_READ = (
    "Our studies run at a CPU proxy scale (fewer images, a narrower and shallower supernet, far fewer epochs than "
    "the papers' NAS-Bench-201 / CIFAR-10 setting), so our numbers are not the papers' numbers: absolute levels "
    "differ, and even the size of an effect may. A verdict is therefore about direction only. A difference is "
    "\"reproduced in direction\" when its 95% interval (percentile bootstrap over seeds, paired by seed) excludes "
    "0 on the paper's side, \"contradicted\" when it excludes 0 on the other side, and \"inconclusive\" otherwise; "
    "a level is read the same way against the metric's neutral value (0 for Kendall tau and C3; CB has none, so "
    "its level is shown for reference), and GM's groups against what random groups give. \"Not measured\": no "
    "study has the settings; the notes below say which grid does. n is the number of paired seeds (a difference "
    "between settings) or of runs (a level, a difference within each run). MDE is the smallest true difference "
    "(from 0, or from the neutral value) that n seeds detect with 80% power in a two-sided paired t-test at 5% "
    "(bench.metrics.power): an inconclusive row whose paper effect is smaller than the MDE says nothing against "
    "the paper. With 3 seeds the bootstrap interval covers about 75% of the time, not 95%, so read such verdicts "
    "as screening results. Where several studies measure a claim, their pairs (or runs) are pooled, whatever "
    "their scale: the verdict is about the direction across our studies, and the notes say what each "
    "contributed. The papers' tables give no sparse Kendall tau, so no row compares it.")


@dataclass
class Page:
    title: str
    intro: list[str]
    header: list[str]
    rows: list[list[str]]
    details: list[str]
    how_to_read: str
    provenance: list[str]


def _threads(runs: pd.DataFrame) -> str:
    if names.TORCH_THREADS not in runs.columns:
        return "threads not recorded"
    counts = Counter("unknown" if _missing(v) else str(int(v)) for v in runs[names.TORCH_THREADS])
    return ", ".join(f"{n} run(s) with {t} torch thread(s)" for t, n in sorted(counts.items()))


def _versions(runs: pd.DataFrame) -> str:
    if names.CODE_VERSION not in runs.columns:
        return ""
    versions = sorted({str(v) for v in runs[names.CODE_VERSION] if not _missing(v)})
    if not versions:
        return ""
    return "; code " + (", ".join(versions) if len(versions) <= 2 else f"{len(versions)} versions")


def command_line(study_args: Sequence[str] | None, out: str | Path) -> str:
    """The command that regenerates the page."""
    words = ["bench", "reproduce", *(study_args or []), "--out", str(out)]
    return " ".join(shlex.quote(w) for w in words)


def build_page(studies: Sequence[Study], findings: Sequence[Finding], command: str) -> Page:
    counts = Counter(f.verdict for f in findings)
    total_runs = sum(len(s.runs) for s in studies)
    intro = [
        f"The claims of the CaLR+MS paper (Jeon et al., CVPR 2025, and its supplement) and of GM-NAS (Hu et al., "
        f"ICLR 2022), with the papers' numbers as docs/papers.md lists them, each beside what {len(studies)} "
        f"stud{'y' if len(studies) == 1 else 'ies'} of ours ({total_runs} runs) measured.",
        "Verdicts: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) + "."]
    details = [_detail(i, f) for i, f in enumerate(findings, 1)]
    provenance = []
    for s in studies:
        settings = s.runs[names.SETTING].nunique() if len(s.runs) else 0
        provenance.append(f"`{s.path}`: {len(s.runs)} finished runs, {settings} setting(s); {_threads(s.runs)}"
                          f"{_versions(s.runs)}")
    provenance.append(f"Regenerate: `{command}`")
    return Page("Reproduction: the papers' claims beside our measurements", intro, COLUMNS, table_rows(findings),
                details, HOW_TO_READ, provenance)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(page: Page) -> str:
    lines = [f"# {page.title}", ""]
    for p in page.intro:
        lines += [p, ""]
    lines += ["## Claims", "", "| " + " | ".join(page.header) + " |", "|" + "|".join(" --- " for _ in page.header)
              + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in page.rows]
    lines += ["", "## What each row compared", ""] + page.details
    lines += ["", "## How to read this", "", page.how_to_read, "", "## Provenance", ""]
    lines += [f"- {p}" for p in page.provenance]
    return "\n".join(lines) + "\n"


_CODE = re.compile(r"`([^`]*)`")
CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 76rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
code { background: #f4f4f4; padding: 0 0.2rem; font-size: 0.9em; }
td.verdict { white-space: nowrap; font-weight: 600; }
.reproduced { background: #e3f4e3; } .contradicted { background: #fbe1e1; }
.inconclusive { background: #fdf6dc; } .not-measured { color: #777; } .reference { background: #eef1f7; }
"""
_VERDICT_CLASS = {REPRODUCED: "reproduced", CONTRADICTED: "contradicted", INCONCLUSIVE: "inconclusive",
                  NOT_MEASURED: "not-measured", REFERENCE: "reference"}


def _html_text(text: str) -> str:
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text, quote=False))


def to_html(page: Page) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(page.title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           f"<h1>{html.escape(page.title)}</h1>"]
    out += [f"<p>{_html_text(p)}</p>" for p in page.intro]
    out += ["<h2>Claims</h2>", "<table>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in page.header)
            + "</tr></thead>", "<tbody>"]
    for row in page.rows:
        verdict = row[-1]
        cells = "".join(f"<td>{_html_text(c)}</td>" for c in row[:-1])
        cells += f'<td class="verdict {_VERDICT_CLASS.get(verdict, "")}">{html.escape(verdict)}</td>'
        out.append(f'<tr class="{_VERDICT_CLASS.get(verdict, "")}-row">{cells}</tr>')
    out += ["</tbody>", "</table>", "<h2>What each row compared</h2>", "<ol>"]
    out += [f"<li>{_html_text(d.split('. ', 1)[1])}</li>" for d in page.details]
    out += ["</ol>", "<h2>How to read this</h2>", f"<p>{_html_text(page.how_to_read)}</p>", "<h2>Provenance</h2>",
            "<ul>"]
    out += [f"<li>{_html_text(p)}</li>" for p in page.provenance]
    out += ["</ul>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


@dataclass
class Written:
    markdown: Path
    html: Path
    findings: list[Finding]
    studies: list[Study]


def render(study_dirs: Sequence[str | Path] | None = None, out: str | Path = DEFAULT_STUDIES_ROOT,
           command: str | None = None, claims: Sequence[Claim] = CLAIMS) -> Written:
    """Write ``reproduction.md`` and ``reproduction.html`` under ``out`` from the studies ``study_dirs``
    (default: every folder under ``reports/`` with a runs.parquet)."""
    given = list(study_dirs or [])
    paths = [Path(p) for p in given] or default_studies()
    if not paths:
        raise StudyError(f"no study folders given and none under {DEFAULT_STUDIES_ROOT}/ has a {RUNS_TABLE}; "
                         "name the folders: bench reproduce STUDY_DIR ...")
    studies = [load_study(p) for p in paths]
    findings = evaluate(studies, claims)
    page = build_page(studies, findings, command or command_line([str(p) for p in given], out))
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    md, page_html = target / f"{PAGE_NAME}.md", target / f"{PAGE_NAME}.html"
    md.write_text(to_markdown(page))
    page_html.write_text(to_html(page))
    return Written(md, page_html, findings, studies)
