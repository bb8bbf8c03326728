"""The names of a run's metrics and of the columns of its tables, each spelled once.

The keys of a run's ``metrics.json`` (:mod:`bench.run`), the columns of its ``scores.csv``, and the columns
the collected tables add (``runs.parquet``, ``scores.parquet``, ``history.parquet``: :mod:`bench.grid.collect`)
are these constants; code that reads or writes one uses the constant rather than the bare string, so a
name is changed in one place and a new metric gets a name here (``tests/test_metric_names.py`` checks that
every key a run writes is one of these or made by one of the builders at the end).

This module imports nothing, so that any module can import it without an import cycle.
"""

# Ranking metrics (bench.metrics.ranking.ranking_metrics): the scores' order against the ground truth's.
KENDALL_TAU = "kendall_tau"
SPARSE_KENDALL_TAU = "sparse_kendall_tau"
SPARSE_THRESHOLD = "sparse_threshold"
SPEARMAN = "spearman"
TOP_5PCT_PRECISION = "top_5pct_precision"
TOP_10PCT_PRECISION = "top_10pct_precision"
FINAL_ACCURACY_TOP1 = "final_accuracy_top1"
P_BEATS_RANDOM_K10 = "p_beats_random_k10"
BEST_RANK_AT_1PCT = "best_rank_at_1pct"
WORST_RANK_AT_1PCT = "worst_rank_at_1pct"
BEST_RANK_AT_5PCT = "best_rank_at_5pct"
WORST_RANK_AT_5PCT = "worst_rank_at_5pct"
BEST_RANK_AT_10PCT = "best_rank_at_10pct"
WORST_RANK_AT_10PCT = "worst_rank_at_10pct"

# Complexity-bias metrics (bench.metrics.fairness): CB, CB-matched and C3.
COMPLEXITY_BIAS = "complexity_bias"
COMPLEXITY_BIAS_MATCHED = "complexity_bias_matched"
COMPLEXITY_CONVERGENCE_CORRELATION = "complexity_convergence_correlation"

# Gradient metrics (bench.metrics.gradients.GradientStats.summary, the GM probe); GRAD_STD is also a column of
# gradient_stats.csv.
GRAD_STD = "grad_std"
GRAD_STD_WITHIN_CLUSTERS = "grad_std_within_clusters"
GRAD_COS_SUCCESSIVE = "grad_cos_successive"
GRAD_COS_SUCCESSIVE_WITHIN_CLUSTERS = "grad_cos_successive_within_clusters"
MGCS_A1 = "mgcs_A1"
MGCS_A3 = "mgcs_A3"
MGCS_A5 = "mgcs_A5"
GM_EDGE = "gm_edge"

# What a run was scored against and how (metrics.json); GROUND_TRUTH, the "benchmark:column" ranked against, is
# spelled like the scores.csv column below.
GROUND_TRUTH_LABEL = "ground_truth_label"
POOL_SIZE = "pool_size"
AVERAGED_EPOCHS = "averaged_epochs"

# Cost keys (metrics.json): what training and scoring took; the split-run budget of bench.nshot after them.
TRAIN_SECONDS = "train_seconds"
SCORE_SECONDS = "score_seconds"
IMAGES_TRAINED = "images_trained"
SUPERNET_EPOCHS = "supernet_epochs"
TRAIN_STEPS = "train_steps"
EPOCHS = "epochs"
SCORE_IMAGES = "score_images"
SCORE_IMAGES_FULL = "score_images_full"
PARTITION = "partition"
LEAVES = "leaves"
LEAF_EPOCHS = "leaf_epochs"
GM_PROBE_PASSES = "gm_probe_passes"
GM_PROBE_SECONDS = "gm_probe_seconds"

# scores.csv columns (bench.run.scores_frame and what a run adds to it); scores_top.csv adds TOP_PERCENT first.
ARCH_STR = "arch_str"
SUPERNET_ACCURACY = "supernet_accuracy"
GROUND_TRUTH = "ground_truth"
PARAMS = "params"
FLOPS = "flops"
LEAF = "leaf"
IMAGES = "images"
SUPERNET_ACCURACY_AVERAGED = "supernet_accuracy_averaged"
TOP_PERCENT = "top_percent"

# Collected-table columns (bench.grid.collect): a run's ids, its status, its total time and its code's version.
KEY = "key"
LABEL = "label"
SETTING = "setting"
SEED = "seed"
IN_SPEC = "in_spec"
STATUS = "status"
ERROR_TYPE = "error_type"
ERROR = "error"
ATTEMPTS = "attempts"
RUN_SECONDS = "run_seconds"
CODE_VERSION = "code_version"
BENCH_VERSION = "bench_version"
GIT_COMMIT = "git_commit"
GIT_DIRTY = "git_dirty"
DEVICE = "device"
TORCH_THREADS = "torch_threads"
FINISHED_AT = "finished_at"

# Derived names: a metric of the epoch-averaged scores (bench.estimators), BR@K / WR@K, and the metrics of the
# samples of the space's true top cells (eval.top_sample).
AVERAGED_SUFFIX = "_averaged"


def averaged(name: str) -> str:
    """The name of ``name`` computed from the epoch-averaged scores: ``kendall_tau_averaged``."""
    return name + AVERAGED_SUFFIX


def pct(k_percent) -> str:
    """A percentage as a name writes it: ``5`` -> ``5pct``."""
    return f"{k_percent}pct"


def best_rank_at(k: str, suffix: str = "") -> str:
    """BR@K's name, ``k`` written as :func:`pct` writes it: ``best_rank_at_5pct``, then ``suffix``."""
    return f"best_rank_at_{k}{suffix}"


def worst_rank_at(k: str, suffix: str = "") -> str:
    """WR@K's name, as :func:`best_rank_at`: ``worst_rank_at_5pct``, then ``suffix``."""
    return f"worst_rank_at_{k}{suffix}"


def space_top_suffix(top_percent) -> str:
    """The suffix of a metric of the sample of the space's true top ``top_percent``%: ``_space_top5pct``."""
    return f"_space_top{pct(top_percent)}"


def space_top(name: str, top_percent) -> str:
    """``name`` over the sample of the space's true top ``top_percent``%: ``spearman_space_top5pct``."""
    return name + space_top_suffix(top_percent)


def top_sample(top_percent) -> str:
    """How many cells of the space's true top ``top_percent``% were sampled: ``top5pct_sample``."""
    return f"top{pct(top_percent)}_sample"


def mgcs(label: str) -> str:
    """The MGCS cosine of subnet ``label`` (A1, A3, A5: edges changed) with A0: ``mgcs_A3``."""
    return f"mgcs_{label}"
