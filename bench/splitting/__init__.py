"""N-shot supernet splitting on NAS-Bench-201: partition tree, few-shot and GM splits, budget, record.

Pure logic (numpy only, no torch, no training): which sub-supernets exist,
which arch belongs to which, how a sub-supernet is split, and what the
splitting schedule costs. The trainer computes the GM score matrices
(:func:`bench.metrics.gradients.gm_score_matrix`) and trains the leaves; this
package decides and records. Every public name is re-exported here
(``from bench.splitting import Leaf``).

Submodules, each importing only from those listed above it:

- :mod:`~bench.splitting.tree`: the partition tree: :class:`Leaf` (a
  sub-supernet, GM-NAS Eq. (1)), the root, which leaf holds an arch,
  sampling inside a leaf, partition checks; :class:`SplitError`.
- :mod:`~bench.splitting.fewshot`: the exhaustive split of few-shot NAS
  (Zhao et al., ICML 2021) and the choice of the edge to split (given,
  random, or among the unsplit candidates).
- :mod:`~bench.splitting.mincut`: the balanced min-cut of an edge's ops by
  gradient-matching score and GM-NAS's edge selection (Hu et al., ICLR 2022).
- :mod:`~bench.splitting.schedule`: the schedule of warm-ups, splits and leaf
  training, and what it costs against a one-shot budget.
- :mod:`~bench.splitting.records`: the split events of a run and its
  ``partition.json`` record (atomic write, validated read).

Layering: ``tree`` <- ``fewshot``, ``mincut``, ``schedule`` <- ``records``.
"""

from bench.splitting.fewshot import candidate_edges, choose_edge, few_shot_split
from bench.splitting.mincut import (
    Cut,
    EdgeChoice,
    balanced_partitions,
    balanced_sizes,
    best_cut,
    choose_split_edge,
    cut_cost,
    n_cross_pairs,
    random_partition,
    submatrix,
)
from bench.splitting.records import (
    RECORD_FORMAT,
    PartitionRecord,
    SplitEvent,
    read_partition_record,
    write_partition_record,
)
from bench.splitting.schedule import SplitSchedule, plan_schedule, scaled_leaf_epochs
from bench.splitting.tree import (
    Leaf,
    Partition,
    SplitError,
    is_partition,
    leaf_index,
    leaf_of,
    root_leaf,
    sample_in,
    size,
)

__all__ = [
    "SplitError", "Leaf", "root_leaf", "leaf_of", "leaf_index", "sample_in", "size", "is_partition",
    "few_shot_split", "choose_edge", "candidate_edges",
    "balanced_sizes", "balanced_partitions", "n_cross_pairs", "cut_cost", "Cut", "best_cut", "EdgeChoice",
    "choose_split_edge", "random_partition", "submatrix",
    "SplitSchedule", "plan_schedule", "scaled_leaf_epochs",
    "SplitEvent", "PartitionRecord", "write_partition_record", "read_partition_record",
]
