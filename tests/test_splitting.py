"""N-shot splitting logic (bench.splitting): partition tree, few-shot and GM splits, budget, record."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest

from bench import splitting as sp
from bench.spaces import nb201 as space

NONE, SKIP, C1, C3, AVG = space.OPS
ALL = space.all_archs()


def as_set(partition):
    return frozenset(frozenset(g) for g in partition)


# ---------------------------------------------------------------------------
# Leaves
# ---------------------------------------------------------------------------


def test_root_holds_the_whole_space():
    root = sp.root_leaf()
    assert sp.size(root) == root.size == 15625 == space.SPACE_SIZE
    assert all(root.contains(a) for a in ALL)
    assert ALL[123] in root
    assert root.is_root and root.split_edges() == ()
    assert "root" in str(root)
    assert sum(1 for _ in root.archs()) == 15625


def test_leaf_canonicalizes_op_order_and_validates():
    a = sp.Leaf((space.OPS,) * 5 + ((C3, C1),))
    b = sp.Leaf((space.OPS,) * 5 + ((C1, C3),))
    assert a == b and hash(a) == hash(b)
    assert a.allowed[5] == (C1, C3)
    with pytest.raises(sp.SplitError, match="unknown op 'sep_conv'"):
        sp.Leaf((space.OPS,) * 5 + (("sep_conv",),))
    with pytest.raises(sp.SplitError, match="no ops allowed"):
        sp.Leaf((space.OPS,) * 5 + ((),))
    with pytest.raises(sp.SplitError, match="duplicate"):
        sp.Leaf((space.OPS,) * 5 + ((C1, C1),))
    with pytest.raises(sp.SplitError, match="6 edges"):
        sp.Leaf((space.OPS,) * 5)


@pytest.mark.parametrize("edge", range(space.NUM_EDGES))
def test_few_shot_split_one_child_per_op(edge):
    root = sp.root_leaf()
    children = sp.few_shot_split(root, edge)
    assert [c.allowed[edge] for c in children] == [(op,) for op in space.OPS]
    for child in children:
        assert all(child.allowed[e] == space.OPS for e in range(space.NUM_EDGES) if e != edge)
        assert child.size == 3125
    assert sum(c.size for c in children) == root.size
    assert sp.is_partition(children)


def test_few_shot_split_every_arch_in_exactly_one_child():
    children = sp.few_shot_split(sp.root_leaf(), 2)
    counts = Counter()
    for arch in ALL:
        holders = [i for i, c in enumerate(children) if c.contains(arch)]
        assert len(holders) == 1, arch
        assert children[holders[0]].allowed[2] == (arch.ops[2],)
        counts[holders[0]] += 1
    assert [counts[i] for i in range(5)] == [3125] * 5


def test_two_level_tree_covers_the_space_once():
    # a GM-like tree: split edge 1 into 2 groups, then each child on a different edge
    root = sp.root_leaf()
    left, right = root.split(1, [(C1, C3), (NONE, SKIP, AVG)])
    leaves = left.split(4, [(SKIP, AVG), (NONE, C1, C3)]) + right.split(0, [(NONE,), (SKIP, C1), (C3, AVG)])
    assert sp.is_partition(leaves)
    assert sum(sp.size(leaf) for leaf in leaves) == 15625
    hits = Counter(sp.leaf_index(leaves, a) for a in ALL)
    assert [hits[i] for i in range(len(leaves))] == [leaf.size for leaf in leaves]
    # overlapping or incomplete sets are not partitions
    assert not sp.is_partition(leaves[:-1])
    assert not sp.is_partition(leaves + [leaves[0]])


def test_split_rejects_bad_groups_and_edges():
    root = sp.root_leaf()
    with pytest.raises(sp.SplitError, match="in no group"):
        root.split(0, [(NONE, SKIP), (C1, C3)])
    with pytest.raises(sp.SplitError, match="more than one group"):
        root.split(0, [(NONE, SKIP, C1), (C1, C3, AVG)])
    with pytest.raises(sp.SplitError, match="does not split"):
        root.split(0, [space.OPS])
    with pytest.raises(sp.SplitError, match="single op"):
        root.split(0, [NONE, SKIP, C1, C3, AVG])
    child = root.split(3, [(C1, C3), (NONE, SKIP, AVG)])[0]
    with pytest.raises(sp.SplitError, match="not among the ops"):
        child.split(3, [(C1,), (C3, AVG)])
    for bad in (6, -1):
        with pytest.raises(sp.SplitError, match="out of range"):
            root.split(bad, [(NONE,), (SKIP, C1, C3, AVG)])
    for bad in (True, "2", 1.0):
        with pytest.raises(sp.SplitError, match="must be an int"):
            sp.few_shot_split(root, bad)
    single = sp.few_shot_split(root, 5)[0]
    with pytest.raises(sp.SplitError, match="nothing left to split"):
        sp.few_shot_split(single, 5)


def test_leaf_of_finds_the_unique_leaf_or_says_why_not():
    children = sp.few_shot_split(sp.root_leaf(), 0)
    arch = space.parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert sp.leaf_of(children, arch) is children[3]
    assert sp.leaf_of(children, str(arch)) is children[3]
    with pytest.raises(sp.SplitError, match="no leaf holds"):
        sp.leaf_of(children[:3], arch)
    with pytest.raises(sp.SplitError, match="in 2 leaves"):
        sp.leaf_of([sp.root_leaf(), children[3]], arch)


def test_leaf_serialization_and_string():
    leaf = sp.root_leaf().split(2, [(C1, C3), (NONE, SKIP, AVG)])[0]
    assert sp.Leaf.from_dict(json.loads(json.dumps(leaf.to_dict()))) == leaf
    assert sp.Leaf.from_key(leaf.key) == leaf
    assert leaf.key == "01234-01234-23-01234-01234-01234"
    assert str(leaf) == "edge 2 in {nor_conv_1x1, nor_conv_3x3}"
    with pytest.raises(sp.SplitError, match="exactly one key"):
        sp.Leaf.from_dict({"edges": leaf.to_dict()["edges"], "extra": 1})
    with pytest.raises(sp.SplitError, match="malformed leaf key"):
        sp.Leaf.from_key("01234-9")


def test_sample_in_stays_inside_is_uniform_and_seeded():
    leaf = sp.Leaf(((C1, C3), (NONE, SKIP, AVG), (SKIP,), (C3,), (AVG,), (NONE,)))
    assert leaf.size == 6
    draws = sp.sample_in(leaf, np.random.default_rng(0), 6000)
    assert all(leaf.contains(a) for a in draws)
    counts = Counter(draws)
    assert set(counts) == set(leaf.archs())
    assert all(850 < c < 1150 for c in counts.values()), counts  # 1000 expected, sd ~ 29
    assert sp.sample_in(leaf, np.random.default_rng(7), 50) == sp.sample_in(leaf, np.random.default_rng(7), 50)
    assert sp.sample_in(leaf, np.random.default_rng(7), 50) != sp.sample_in(leaf, np.random.default_rng(8), 50)
    distinct = sp.sample_in(leaf, np.random.default_rng(1), 6, replace=False)
    assert sorted(distinct) == sorted(leaf.archs())
    with pytest.raises(sp.SplitError, match="distinct"):
        sp.sample_in(leaf, np.random.default_rng(1), 7, replace=False)
    with pytest.raises(sp.SplitError, match="Generator"):
        sp.sample_in(leaf, 0, 3)


def test_arch_at_enumerates_the_leaf_in_order():
    leaf = sp.root_leaf().split(4, [(C1, C3), (NONE, SKIP, AVG)])[1]
    assert [leaf.arch_at(i) for i in range(leaf.size)] == list(leaf.archs())
    root = sp.root_leaf()
    assert all(root.arch_at(c) == space.arch_from_code(c) for c in (0, 1, 777, 15624))


# ---------------------------------------------------------------------------
# Edge choice
# ---------------------------------------------------------------------------


def test_choose_edge_random_is_seeded_and_fixed_is_validated():
    picks = [sp.choose_edge(np.random.default_rng(s)) for s in range(60)]
    assert set(picks) == set(range(6))
    assert picks == [sp.choose_edge(np.random.default_rng(s), "random") for s in range(60)]
    assert sp.choose_edge(None, 3) == 3
    assert sp.choose_edge(None, "last") == 5
    assert {sp.choose_edge(np.random.default_rng(s), candidates=(1, 4)) for s in range(30)} == {1, 4}
    with pytest.raises(sp.SplitError, match=r"out of range; a NAS-Bench-201 cell has edges 0..5"):
        sp.choose_edge(None, 6)
    with pytest.raises(sp.SplitError, match="out of range"):
        sp.choose_edge(None, -1)
    with pytest.raises(sp.SplitError, match="not understood"):
        sp.choose_edge(None, "middle")
    with pytest.raises(sp.SplitError, match="must be an int"):
        sp.choose_edge(None, True)
    with pytest.raises(sp.SplitError, match="not a candidate"):
        sp.choose_edge(None, 2, candidates=(1, 4))
    with pytest.raises(sp.SplitError, match="Generator"):
        sp.choose_edge(None, "random")


def test_candidate_edges_follow_the_split_history():
    leaf = sp.root_leaf().split(1, [(C1, C3), (NONE, SKIP, AVG)])[1]
    assert sp.candidate_edges(leaf, 2) == (0, 2, 3, 4, 5)
    assert sp.candidate_edges(leaf, 2, unsplit_only=False) == (0, 1, 2, 3, 4, 5)
    assert sp.candidate_edges(leaf, 4, unsplit_only=False) == (0, 2, 3, 4, 5)


# ---------------------------------------------------------------------------
# Balanced partitions and cuts
# ---------------------------------------------------------------------------


def brute_force_balanced(ops, groups):
    """Independent count: every labelling of ops with group ids, kept when sizes are balanced, as sets."""
    n = len(ops)
    want = sorted(sp.balanced_sizes(n, groups))
    found = set()
    for labels in itertools.product(range(groups), repeat=n):
        parts = [tuple(o for o, label in zip(ops, labels) if label == g) for g in range(groups)]
        if sorted(len(p) for p in parts) == want:
            found.add(as_set(parts))
    return found


@pytest.mark.parametrize("n, groups, expected", [
    (5, 2, 10),   # every 2-vs-3 split: C(5,2)
    (4, 2, 3),    # C(4,2)/2
    (6, 3, 15),   # 6!/(2!^3 3!)
    (6, 2, 10),   # C(6,3)/2
    (5, 3, 15),   # sizes 2,2,1: 5 * 3 pairings of the other four
    (7, 3, 105),  # sizes 3,2,2: C(7,3) * 3
    (5, 5, 1),
    (5, 1, 1),
])
def test_balanced_partitions_counts_without_duplicates(n, groups, expected):
    ops = [f"op{i}" for i in range(n)]
    parts = sp.balanced_partitions(ops, groups)
    assert len(parts) == expected
    sets = [as_set(p) for p in parts]
    assert len(set(sets)) == expected
    assert set(sets) == brute_force_balanced(ops, groups)
    for p in parts:
        assert sorted(o for g in p for o in g) == sorted(ops)
        assert max(map(len, p)) - min(map(len, p)) <= 1
        assert len(p) == groups


def test_balanced_partitions_of_nb201_are_the_2_vs_3_splits():
    parts = sp.balanced_partitions(space.OPS, 2)
    assert sorted(sorted(map(len, p)) for p in parts) == [[2, 3]] * 10
    assert parts[0] == ((NONE, SKIP, C1), (C3, AVG))  # the documented first (tie-break) partition
    with pytest.raises(sp.SplitError, match="groups must be in"):
        sp.balanced_partitions(space.OPS, 6)
    with pytest.raises(sp.SplitError, match="duplicate"):
        sp.balanced_partitions((C1, C1, C3), 2)


def clustered_matrix(high=0.8, low=0.05, none_to_pool=0.4, noise=0.0, rng=None):
    """GM-like scores: conv1x1~conv3x3 and skip~avgpool similar; none closer to the parameter-free pair."""
    m = np.full((5, 5), low)
    i = {op: k for k, op in enumerate(space.OPS)}
    m[i[C1], i[C3]] = m[i[C3], i[C1]] = high
    m[i[SKIP], i[AVG]] = m[i[AVG], i[SKIP]] = high
    for op in (SKIP, AVG):
        m[i[NONE], i[op]] = m[i[op], i[NONE]] = none_to_pool
    np.fill_diagonal(m, 1.0)
    if noise:
        e = rng.normal(0, noise, size=(5, 5))
        m = m + (e + e.T) / 2
    return m


def test_cut_cost_counts_each_cross_pair_once_with_the_symmetric_average():
    m = np.arange(25, dtype=float).reshape(5, 5)  # asymmetric on purpose
    part = ((NONE, SKIP), (C1, C3, AVG))
    sym = (m + m.T) / 2
    expected = sum(sym[a, b] for a in (0, 1) for b in (2, 3, 4))
    assert sp.cut_cost(m, part) == pytest.approx(expected)
    assert sp.n_cross_pairs(part) == 6
    m2 = m.copy()
    np.fill_diagonal(m2, -100.0)  # the diagonal never counts
    m2[0, 1] = m2[1, 0] = 99.0    # nor do pairs inside a group
    assert sp.cut_cost(m2, part) == pytest.approx(expected)
    assert sp.cut_cost(m.T, part) == pytest.approx(expected)
    # a 3-group cut: pairs across any two groups, once each
    part3 = ((NONE,), (SKIP, C1), (C3, AVG))
    expected3 = sum(sym[a, b] for a, b in itertools.combinations(range(5), 2)) - sym[1, 2] - sym[3, 4]
    assert sp.cut_cost(m, part3) == pytest.approx(expected3)
    assert sp.n_cross_pairs(part3) == 8


def test_best_cut_finds_the_two_clusters():
    cut = sp.best_cut(clustered_matrix(), space.OPS, 2)
    partition, cost = cut
    assert as_set(partition) == as_set([(C1, C3), (NONE, SKIP, AVG)])
    assert cost == pytest.approx(sp.cut_cost(clustered_matrix(), partition))
    assert cost == pytest.approx(6 * 0.05)
    assert cut.mean_cost == pytest.approx(0.05)
    # every other balanced partition costs more
    others = [sp.cut_cost(clustered_matrix(), p) for p in sp.balanced_partitions(space.OPS, 2) if p != partition]
    assert min(others) > cost + 0.1


def test_best_cut_robust_to_noise_and_row_order():
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = clustered_matrix(noise=0.05, rng=rng)
        assert as_set(sp.best_cut(m, space.OPS, 2).partition) == as_set([(C1, C3), (NONE, SKIP, AVG)])
    # the same matrix with rows in another order, labelled accordingly
    order = [4, 2, 0, 3, 1]
    labels = [space.OPS[k] for k in order]
    permuted = clustered_matrix()[np.ix_(order, order)]
    cut = sp.best_cut(permuted, labels, 2)
    assert as_set(cut.partition) == as_set([(C1, C3), (NONE, SKIP, AVG)])


def test_best_cut_on_a_reduced_edge_uses_the_full_matrix_rows():
    m = clustered_matrix()
    ops = (NONE, SKIP, C1, C3)  # an edge that lost avg_pool: 4 ops, 2 vs 2
    cut = sp.best_cut(m, ops, 2)
    assert as_set(cut.partition) == as_set([(NONE, SKIP), (C1, C3)])
    assert cut.cost == pytest.approx(sp.cut_cost(sp.submatrix(m, space.OPS, ops), cut.partition))
    with pytest.raises(sp.SplitError, match="labels"):
        sp.best_cut(np.eye(3), ops, 2)


def test_best_cut_ties_go_to_the_first_partition():
    flat = np.full((5, 5), 0.3)
    assert sp.best_cut(flat, space.OPS, 2).partition == sp.balanced_partitions(space.OPS, 2)[0]
    with pytest.raises(sp.SplitError, match="non-finite"):
        sp.best_cut(np.full((5, 5), np.nan), space.OPS, 2)
    with pytest.raises(sp.SplitError, match="square"):
        sp.best_cut(np.zeros((5, 4)), space.OPS, 2)


def test_choose_split_edge_picks_the_most_separable_edge():
    rng = np.random.default_rng(0)
    matrices = {}
    for edge in range(6):
        e = rng.uniform(0.3, 0.6, size=(5, 5))
        matrices[edge] = (e + e.T) / 2  # no structure: every cut costs about the same
    matrices[4] = clustered_matrix(high=0.9, low=0.0)
    matrices[1] = clustered_matrix(high=0.7, low=0.2)  # separable, less clearly
    choice = sp.choose_split_edge(matrices, sp.root_leaf(), 2)
    assert choice.edge == 4
    assert as_set(choice.partition) == as_set([(C1, C3), (NONE, SKIP, AVG)])
    assert set(choice.cuts) == set(range(6))
    for edge, cut in choice.cuts.items():
        assert cut == sp.best_cut(matrices[edge], space.OPS, 2)
        assert choice.cost <= cut.cost
    # without edge 4, the next clearest wins
    del matrices[4]
    assert sp.choose_split_edge(matrices, sp.root_leaf(), 2).edge == 1


def test_choose_split_edge_ties_and_normalization():
    same = clustered_matrix()
    assert sp.choose_split_edge({5: same, 2: same, 3: same}, sp.root_leaf(), 2).edge == 2
    # edge 0 keeps 5 ops (6 cross pairs), edge 1 only 3 (2 cross pairs after a 1-vs-2 cut);
    # the per-pair similarity across groups is higher on edge 1, its plain sum lower.
    leaf = sp.Leaf((space.OPS, (SKIP, C1, C3)) + (space.OPS,) * 4)
    m0 = clustered_matrix(high=0.9, low=0.1)       # best cut: 6 pairs at 0.1 -> sum 0.6, mean 0.1
    m1 = np.full((5, 5), 0.25)                     # best cut on 3 ops: 2 pairs at 0.25 -> sum 0.5, mean 0.25
    normalized = sp.choose_split_edge({0: m0, 1: m1}, leaf, 2)
    plain = sp.choose_split_edge({0: m0, 1: m1}, leaf, 2, normalize=False)
    assert normalized.edge == 0 and plain.edge == 1
    assert plain.cuts[1].cost == pytest.approx(0.5) and plain.cuts[0].cost == pytest.approx(0.6)
    assert normalized.selection_cost(0) == pytest.approx(0.1)
    with pytest.raises(sp.SplitError, match="cannot be split"):
        sp.choose_split_edge({1: m1}, sp.Leaf((space.OPS, (SKIP,)) + (space.OPS,) * 4), 2)
    with pytest.raises(sp.SplitError, match="empty"):
        sp.choose_split_edge({}, sp.root_leaf(), 2)


def test_random_partition_is_balanced_seeded_and_covers_all():
    draws = [sp.random_partition(space.OPS, 2, np.random.default_rng(s)) for s in range(400)]
    assert draws == [sp.random_partition(space.OPS, 2, np.random.default_rng(s)) for s in range(400)]
    for p in draws:
        assert sorted(map(len, p)) == [2, 3]
        assert sorted(o for g in p for o in g) == sorted(space.OPS)
    counts = Counter(as_set(p) for p in draws)
    assert len(counts) == 10 and min(counts.values()) > 15  # 40 expected each
    three = sp.random_partition([f"o{i}" for i in range(7)], 3, np.random.default_rng(1))
    assert sorted(map(len, three)) == [2, 2, 3]


# ---------------------------------------------------------------------------
# Budget
# ---------------------------------------------------------------------------


def test_schedule_totals_add_up():
    # GM-NAS on NB201: 2 splits into 2 groups, warm-up before each, 4 leaves
    gm = sp.plan_schedule(warmup_epochs=20, splits=2, branching=2, leaf_epochs=50, steps_per_epoch=100)
    assert gm.supernets_per_level == (1, 2)
    assert gm.n_leaves == 4
    assert gm.warmup_supernet_epochs == 20 * 1 + 20 * 2
    assert gm.total_supernet_epochs == 60 + 4 * 50
    assert gm.total_steps == 260 * 100
    assert gm.path_epochs == 90
    # Few-shot: one split into 5, per-split warm-ups given as a list; MobileNet-like branching (2, 3)
    fs = sp.plan_schedule(warmup_epochs=[30], splits=1, branching=5, leaf_epochs=10, steps_per_epoch=7)
    assert (fs.n_leaves, fs.total_supernet_epochs, fs.total_steps) == (5, 80, 560)
    mb = sp.plan_schedule(warmup_epochs=[4, 6], splits=2, branching=[2, 3], leaf_epochs=5, steps_per_epoch=1)
    assert mb.supernets_per_level == (1, 2) and mb.n_leaves == 6
    assert mb.total_supernet_epochs == 4 + 12 + 30
    # one-shot: no split
    one = sp.plan_schedule(warmup_epochs=0, splits=0, branching=2, leaf_epochs=250, steps_per_epoch=3)
    assert (one.n_leaves, one.total_steps) == (1, 750)
    assert sp.SplitSchedule.from_dict(json.loads(json.dumps(gm.to_dict()))) == gm


def test_scaled_leaf_epochs_never_exceed_the_budget():
    for budget in (8, 30, 101, 250, 300):
        for splits in (0, 1, 2, 3):
            for branching in (2, 3, 5):
                for warm in (0, 1, 2, 5):
                    w_total = sum(warm * branching ** k for k in range(splits))
                    leaves = branching ** splits
                    if budget - w_total < leaves:
                        with pytest.raises(sp.SplitError, match="less than one epoch per leaf"):
                            sp.plan_schedule(warmup_epochs=warm, splits=splits, branching=branching,
                                             steps_per_epoch=10, budget_epochs=budget, scale_leaf_epochs=True)
                        continue
                    s = sp.plan_schedule(warmup_epochs=warm, splits=splits, branching=branching,
                                         steps_per_epoch=10, budget_epochs=budget, scale_leaf_epochs=True)
                    assert s.total_supernet_epochs <= budget
                    assert s.total_steps <= budget * 10
                    assert 0 <= s.unused_budget_epochs < s.n_leaves  # rounded down, by less than 1 per leaf
                    assert s.total_supernet_epochs + s.n_leaves > budget  # one more epoch per leaf would exceed
    s = sp.plan_schedule(warmup_epochs=20, splits=2, branching=2, steps_per_epoch=1, budget_epochs=250,
                         scale_leaf_epochs=True)
    assert s.leaf_epochs == 47 and s.total_supernet_epochs == 248


def test_schedule_rejects_inconsistent_requests():
    with pytest.raises(sp.SplitError, match="not both"):
        sp.plan_schedule(warmup_epochs=1, splits=1, branching=2, steps_per_epoch=1, leaf_epochs=3,
                         budget_epochs=10, scale_leaf_epochs=True)
    with pytest.raises(sp.SplitError, match="needs budget_epochs"):
        sp.plan_schedule(warmup_epochs=1, splits=1, branching=2, steps_per_epoch=1, scale_leaf_epochs=True)
    with pytest.raises(sp.SplitError, match="leaf_epochs is required"):
        sp.plan_schedule(warmup_epochs=1, splits=1, branching=2, steps_per_epoch=1)
    with pytest.raises(sp.SplitError, match="over its budget"):
        sp.plan_schedule(warmup_epochs=1, splits=1, branching=2, steps_per_epoch=1, leaf_epochs=10, budget_epochs=20)
    with pytest.raises(sp.SplitError, match="2 values for 3 splits"):
        sp.plan_schedule(warmup_epochs=[1, 2], splits=3, branching=2, steps_per_epoch=1, leaf_epochs=1)
    with pytest.raises(sp.SplitError, match="branching"):
        sp.plan_schedule(warmup_epochs=1, splits=1, branching=1, steps_per_epoch=1, leaf_epochs=1)


# ---------------------------------------------------------------------------
# Partition record
# ---------------------------------------------------------------------------


def gm_record():
    rng = np.random.default_rng(5)
    record = sp.PartitionRecord(method="gm", schedule=sp.plan_schedule(
        warmup_epochs=2, splits=2, branching=2, leaf_epochs=3, steps_per_epoch=10))
    root = sp.root_leaf()
    matrices = {e: clustered_matrix(noise=0.02 * (e + 1), rng=rng) for e in range(6)}
    choice = sp.choose_split_edge(matrices, root, 2)
    record.add(sp.SplitEvent.from_choice(2, root, choice, matrices[choice.edge], space.OPS))
    for child in record.leaves():
        cands = sp.candidate_edges(child, 2)
        ms = {e: clustered_matrix(noise=0.03, rng=rng) for e in cands}
        c = sp.choose_split_edge(ms, child, 2)
        record.add(sp.SplitEvent.from_choice(4, child, c, ms[c.edge]))
    return record


def test_partition_record_round_trips_through_json(tmp_path):
    record = gm_record()
    leaves = record.leaves()
    assert len(leaves) == 4 and sp.is_partition(leaves)
    path = sp.write_partition_record(record, tmp_path / "run" / "partition.json")
    back = sp.read_partition_record(path)
    assert back.to_dict() == record.to_dict()
    assert back.leaves() == leaves
    assert back.schedule == record.schedule
    first = back.events[0]
    assert first.candidate_costs.keys() == set(range(6))
    assert first.cost == record.events[0].cost == min(first.candidate_costs.values())
    assert np.allclose(first.score_matrix, record.events[0].score_matrix)
    assert json.loads(path.read_text())["format"] == sp.RECORD_FORMAT
    assert not list(path.parent.glob("*.tmp"))
    # events without scores (few-shot) serialize too
    fs = sp.PartitionRecord(method="few_shot")
    fs.add(sp.SplitEvent(5, sp.root_leaf(), 3, tuple((op,) for op in space.OPS), edge_rule="random",
                         cut_rule="exhaustive"))
    back = sp.read_partition_record(sp.write_partition_record(fs, tmp_path / "fs.json"))
    assert back.events[0].score_matrix is None and back.events[0].cost is None
    assert len(back.leaves()) == 5


def test_partition_record_refuses_inconsistent_events():
    record = gm_record()
    stale = sp.SplitEvent(6, sp.root_leaf(), 0, ((NONE, SKIP), (C1, C3, AVG)))
    with pytest.raises(sp.SplitError, match="not a current leaf"):
        record.add(stale)
    assert len(record.events) == 3  # the refused event was not appended
    data = record.to_dict()
    data["leaves"] = data["leaves"][:-1]
    with pytest.raises(sp.SplitError, match="stored leaves differ"):
        sp.PartitionRecord.from_dict(data)
    with pytest.raises(sp.SplitError, match="not a partition record"):
        sp.PartitionRecord.from_dict({"events": []})
    with pytest.raises(sp.SplitError, match="in no group"):
        sp.SplitEvent(0, sp.root_leaf(), 0, ((NONE,), (SKIP,)))
    with pytest.raises(sp.SplitError, match="cost must be a finite number"):
        sp.SplitEvent(0, sp.root_leaf(), 0, ((NONE, SKIP), (C1, C3, AVG)), score_matrix=np.eye(5), cost=float("nan"))
    with pytest.raises(sp.SplitError, match="non-finite"):
        sp.SplitEvent(0, sp.root_leaf(), 0, ((NONE, SKIP), (C1, C3, AVG)), score_matrix=np.full((5, 5), np.inf))
