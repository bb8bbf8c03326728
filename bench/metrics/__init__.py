"""Metrics: ranking quality, complexity fairness, and uncertainty across seeds."""

from .fairness import complexity_bias, complexity_bias_matched, complexity_convergence_correlation
from .ranking import (
    best_rank_at_k,
    final_accuracy,
    kendall_tau,
    p_beats_random,
    ranking_metrics,
    sparse_kendall_tau,
    spearman,
    spearman_top,
    top_k_precision,
    worst_rank_at_k,
)
from .uncertainty import paired_difference, seed_summary, summarize_frame

__all__ = [
    "kendall_tau",
    "sparse_kendall_tau",
    "spearman",
    "spearman_top",
    "top_k_precision",
    "best_rank_at_k",
    "worst_rank_at_k",
    "p_beats_random",
    "final_accuracy",
    "ranking_metrics",
    "complexity_bias",
    "complexity_bias_matched",
    "complexity_convergence_correlation",
    "seed_summary",
    "paired_difference",
    "summarize_frame",
]
