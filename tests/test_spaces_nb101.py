"""NAS-Bench-101 space: validity and pruning, the official hash, sampling, complexity, the CLI.

Checks against the official numbers read ../shared/data/nb101 (skipped when absent);
one official record is also written out below so the hash and the parameter
count are checked without the shared data.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import torch
from torch import nn

from bench.cli import main
from bench.spaces import nb101 as space
from conftest import require_shared

C3, C1, MP = space.CONV3X3, space.CONV1X1, space.MAXPOOL3X3

# The first entry of nb101_records.json (official hash and trainable_parameters).
OFFICIAL = dict(
    matrix=[[0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0], [0, 0, 0, 1, 0, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0]],
    ops=["input", C3, C3, C3, C1, "output"],
    hash="ff91e10b9512cbe4efeec6bd926941a1",
    params=3_824_576,
)


def load_json(name: str) -> list[dict]:
    return json.loads(require_shared("nb101", name).read_text())


def permuted(matrix, ops, order):
    """The same graph with its vertices relabelled: new vertex i is old vertex order[i]."""
    m = np.asarray(matrix)[np.ix_(order, order)]
    return m, [ops[i] for i in order]


def topological_orders(matrix):
    """Every relabelling of the interior vertices that keeps the matrix upper-triangular."""
    import itertools

    n = len(matrix)
    for perm in itertools.permutations(range(1, n - 1)):
        order = [0, *perm, n - 1]
        if not np.tril(np.asarray(matrix)[np.ix_(order, order)]).any():
            yield order


# -- validity and pruning ---------------------------------------------------------


@pytest.mark.parametrize("matrix, ops, reason", [
    ([[0, 1, 0], [0, 0, 1]], ["input", C3, "output"], "must be square"),
    ([[0, 2], [0, 0]], ["input", "output"], "only 0 and 1"),
    ([[0, 1], [1, 0]], ["input", "output"], "strictly upper-triangular.*edge 1 -> 0"),
    ([[1, 1], [0, 0]], ["input", "output"], "edge 0 -> 0"),
    ([[0, 1], [0, 0]], ["input", C3, "output"], "2 vertices but 3 ops"),
    ([[0, 1], [0, 0]], [C3, "output"], "first op must be 'input'"),
    ([[0, 1], [0, 0]], ["input", C3], "last op must be 'output'"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5-bn-relu", "output"],
     "unknown op 'conv5x5-bn-relu' at vertex 1; allowed between input and output: conv3x3-bn-relu"),
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"], "no path from the input"),
])
def test_invalid_specs_are_rejected_with_reason(matrix, ops, reason):
    with pytest.raises(space.CellError, match=reason):
        space.make_cell(matrix, ops)
    assert not space.is_valid(matrix, ops)


def test_pruning_drops_dead_ends_and_unreachable_vertices():
    # 1: fed by input but leads nowhere; 2: leads to output but nothing feeds it; 3: on the path.
    matrix = [[0, 1, 0, 1, 0],
              [0, 0, 0, 0, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0]]
    cell = space.make_cell(matrix, ["input", C1, MP, C3, "output"])
    assert cell.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert cell.ops == ("input", C3, "output")
    # A pruned cell hashes like the same graph written without the dead vertices.
    assert cell.hash == space.make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"]).hash


def test_input_straight_to_output_is_the_smallest_valid_cell():
    cell = space.make_cell([[0, 0, 1], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"])
    assert cell.ops == ("input", "output") and cell.num_edges == 1


def test_cell_constructor_demands_the_pruned_form():
    with pytest.raises(space.CellError, match="cell not pruned: 1 vertex.*make_cell"):
        space.Cell(((0, 1, 1), (0, 0, 0), (0, 0, 0)), ("input", C3, "output"))


def chain_with_extra_edges(num_edges: int) -> np.ndarray:
    """7 vertices: the chain 0->1->...->6 plus further edges, first ones in row order."""
    m = np.zeros((7, 7), dtype=int)
    for v in range(6):
        m[v, v + 1] = 1
    extra = [(i, j) for i in range(7) for j in range(i + 2, 7)][: num_edges - 6]
    for i, j in extra:
        m[i, j] = 1
    return m


def test_edge_limit_is_nine_after_pruning():
    ops = ["input", C3, C1, MP, C3, C1, "output"]
    assert space.make_cell(chain_with_extra_edges(9), ops).num_edges == 9
    with pytest.raises(space.CellError, match="too many edges after pruning: 10 .*at most 9"):
        space.make_cell(chain_with_extra_edges(10), ops)
    # 10 raw edges, but two hang off a dead-end vertex: 8 after pruning, so valid (official rule).
    m = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (0, 2), (1, 4), (0, 5), (1, 5)]:
        m[i, j] = 1
    assert m.sum() == 10
    cell = space.make_cell(m, ops)
    assert (cell.num_vertices, cell.num_edges) == (6, 8)


def test_vertex_limit_is_seven():
    m = np.zeros((8, 8), dtype=int)
    for v in range(7):
        m[v, v + 1] = 1
    with pytest.raises(space.CellError, match="too many vertices after pruning: 8 .*at most 7"):
        space.make_cell(m, ["input"] + [C3] * 6 + ["output"])


# -- the official hash ---------------------------------------------------------------


def test_hash_of_an_official_record():
    cell = space.make_cell(OFFICIAL["matrix"], OFFICIAL["ops"])
    assert cell.hash == str(cell) == OFFICIAL["hash"]


def test_isomorphic_cells_share_the_hash_and_ops_matter():
    orders = list(topological_orders(OFFICIAL["matrix"]))
    assert len(orders) >= 1
    m = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    ops = ["input", C3, C1, MP, "output"]
    base = space.make_cell(m, ops)
    others = [space.make_cell(*permuted(m, ops, order)) for order in topological_orders(m)]
    assert len(others) == 3  # orders (1,2,3), (1,3,2), (2,1,3) keep the matrix upper-triangular
    assert len({o.matrix for o in others}) == 3  # really different matrices ...
    assert {o.hash for o in others} == {base.hash}  # ... of one graph
    swapped = space.make_cell(m, ["input", C1, C3, MP, "output"])  # same shape, ops moved
    assert swapped.hash != base.hash


def test_hash_matches_all_shared_cells():
    cells = load_json("nb101_sample.json") + load_json("nb101_records.json")
    wrong = [c["nb101_hash"] for c in cells if space.graph_hash(c["matrix"], c["ops"]) != c["nb101_hash"]]
    assert not wrong, f"{len(wrong)} of {len(cells)} hashes differ, e.g. {wrong[:3]}"
    assert len(cells) == 292 + 52


def test_hash_is_invariant_under_relabelling_on_shared_cells():
    sample = load_json("nb101_sample.json")[:40]
    for c in sample:
        for order in list(topological_orders(c["matrix"]))[:4]:
            assert space.graph_hash(*permuted(c["matrix"], c["ops"], order)) == c["nb101_hash"]


# -- sampling -----------------------------------------------------------------


def test_sampling_is_seeded_valid_and_distinct():
    cells = space.sample_cells(300, seed=5)
    assert cells == space.sample_cells(300, seed=5)
    assert cells != space.sample_cells(300, seed=6)
    assert len({c.hash for c in cells}) == 300
    for c in cells:
        assert c.num_vertices <= 7 and c.num_edges <= 9
        assert space.make_cell(c.matrix, c.ops) == c  # already pruned
    interior = [op for c in cells for op in c.ops[1:-1]]
    shares = [interior.count(op) / len(interior) for op in space.OPS]
    assert all(0.25 < s < 0.42 for s in shares), shares  # uniform ops: 1/3 each


def test_sampling_with_replacement_follows_the_official_draw():
    # The official random_spec (p=1/2 per edge, redraw until valid) favours small pruned
    # cells: about 9% are input -> output alone, 7-vertex cells are rare (~0.2%).
    rng = np.random.default_rng(0)
    draws = [space.random_cell(rng) for _ in range(400)]
    sizes = [c.num_vertices for c in draws]
    assert 3.5 < np.mean(sizes) < 4.5
    assert 0.04 < sizes.count(2) / len(sizes) < 0.15
    assert len({c.hash for c in draws}) < len(draws)  # with replacement: repeats happen


# -- complexity -----------------------------------------------------------------


def test_params_of_an_official_record():
    assert space.params(OFFICIAL["matrix"], OFFICIAL["ops"]) == OFFICIAL["params"]


def test_params_match_all_52_official_records():
    records = load_json("nb101_records.json")
    errors = [abs(space.params(r["matrix"], r["ops"]) - r["trainable_parameters"]) / r["trainable_parameters"]
              for r in records]
    assert len(errors) == 52
    assert max(errors) <= 1e-4, f"max relative error {max(errors):.2e}"
    assert max(errors) == 0.0  # the closed form is exact


def test_sample_params_match_some_isomorphic_ordering():
    # params_M is the official count for the hash; when the output's channels do not split
    # evenly, the count depends on the vertex order (see the module docstring).
    sample = load_json("nb101_sample.json")
    mismatched = 0
    for c in sample:
        official = round(c["params_M"] * 1e6)
        if space.params(c["matrix"], c["ops"]) != official:
            mismatched += 1
            counts = {space.params(*permuted(c["matrix"], c["ops"], o)) for o in topological_orders(c["matrix"])}
            assert official in counts, c["nb101_hash"]
    assert mismatched == 3


def test_vertex_channels_split_the_output_and_never_grow():
    m = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert space.vertex_channels(128, 128, m) == [128, 43, 43, 42, 128]
    chain = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert space.vertex_channels(64, 256, chain) == [64, 256, 256, 256]


def test_complexity_rejects_bad_settings():
    cell = space.make_cell(OFFICIAL["matrix"], OFFICIAL["ops"])
    with pytest.raises(space.CellError, match="stem_channels must be an int >= 1, got 0"):
        space.complexity(cell, stem_channels=0)
    with pytest.raises(space.CellError, match="needs a Cell"):
        space.complexity(OFFICIAL["matrix"])


def test_nasbench_pytorch_extra_params():
    # One placeholder scalar in vertex_op[0], input_op[0] and each input_op[t] not fed by the input.
    assert space.nasbench_pytorch_extra_params(space.make_cell([[0, 1], [0, 0]], ["input", "output"])) == 18
    cell = space.make_cell(OFFICIAL["matrix"], OFFICIAL["ops"])  # vertices 2, 3, 5 not fed by the input
    assert space.nasbench_pytorch_extra_params(cell) == 9 * (2 + 3)


# A reference network written from the official model_builder.build_module, to check the
# closed form (parameters and MACs) at other widths, depths and input sizes.


class _RefCell(nn.Module):
    def __init__(self, cell: space.Cell, c_in: int, c_out: int) -> None:
        super().__init__()
        self.m, self.n = cell.array, cell.num_vertices
        self.ch = space.vertex_channels(c_in, c_out, self.m)

        def cbr(a, b, k):
            return nn.Sequential(nn.Conv2d(a, b, k, padding=k // 2, bias=False), nn.BatchNorm2d(b), nn.ReLU())

        self.proj = nn.ModuleDict({str(t): cbr(c_in, self.ch[t], 1) for t in range(1, self.n) if self.m[0, t]})
        kernels = {C3: 3, C1: 1}
        self.ops = nn.ModuleDict({
            str(t): cbr(self.ch[t], self.ch[t], kernels[op]) if op in kernels else nn.MaxPool2d(3, 1, 1)
            for t, op in enumerate(cell.ops[1:-1], start=1)})

    def forward(self, x):
        n, m, out = self.n, self.m, []
        tensors = [x]
        for t in range(1, n - 1):
            fan_in = [tensors[s][:, : self.ch[t]] for s in range(1, t) if m[s, t]]
            if m[0, t]:
                fan_in.append(self.proj[str(t)](x))
            tensors.append(self.ops[str(t)](sum(fan_in)))
            if m[t, n - 1]:
                out.append(tensors[t])
        y = torch.cat(out, 1) if out else 0
        return y + self.proj[str(n - 1)](x) if m[0, n - 1] else y


def _reference_network(cell, stem, stacks, cells, classes):
    layers = [nn.Conv2d(3, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem), nn.ReLU()]
    c = stem
    for s in range(stacks):
        c_out = c if s == 0 else 2 * c
        if s > 0:
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        for i in range(cells):
            layers.append(_RefCell(cell, c if i == 0 else c_out, c_out))
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def test_closed_form_matches_a_built_network():
    torch.manual_seed(0)
    uneven = space.make_cell([[0, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                             ["input", C1, C3, C1, "output"])
    cells = space.sample_cells(5, seed=11) + [uneven, space.make_cell([[0, 1], [0, 0]], ["input", "output"])]
    setting = dict(stem_channels=10, num_stacks=2, cells_per_stack=2, num_classes=7, input_size=9)
    for cell in cells:
        net = _reference_network(cell, 10, 2, 2, 7)
        macs = []

        def hook(module, inputs, output):
            if isinstance(module, nn.Conv2d):
                macs.append(output.numel() * module.in_channels * math.prod(module.kernel_size))
            else:
                macs.append(module.in_features * module.out_features)

        for mod in net.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                mod.register_forward_hook(hook)
        with torch.no_grad():
            assert net(torch.zeros(1, 3, 9, 9)).shape == (1, 7)
        got = space.complexity(cell, **setting)
        assert got.params == sum(p.numel() for p in net.parameters()), cell
        assert got.flops == sum(macs), cell


# -- CLI ---------------------------------------------------------------------------


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_one_cell_and_settings():
    flat = "".join(str(x) for row in OFFICIAL["matrix"] for x in row)
    code, out, _ = run_cli("complexity", "nb101", "--matrix", flat, "--ops", ",".join(OFFICIAL["ops"]))
    assert code == 0
    assert out.splitlines() == ["arch_str,params,flops",
                                f"{OFFICIAL['hash']},{OFFICIAL['params']},"
                                f"{space.flops(OFFICIAL['matrix'], OFFICIAL['ops'])}"]
    rows = ",".join("".join(map(str, r)) for r in OFFICIAL["matrix"])
    code, out, _ = run_cli("complexity", "nb101", "--matrix", rows, "--ops", ",".join(OFFICIAL["ops"]),
                           "--stem", "16", "--stacks", "2", "--cells", "1", "--classes", "100")
    cell = space.make_cell(OFFICIAL["matrix"], OFFICIAL["ops"])
    expected = space.complexity(cell, stem_channels=16, num_stacks=2, cells_per_stack=1, num_classes=100)
    assert code == 0 and out.splitlines()[1] == f"{cell},{expected.params},{expected.flops}"


@pytest.mark.parametrize("argv, message", [
    (["complexity", "nb101"], "needs --records PATH, or --matrix and --ops"),
    (["complexity", "nb101", "--matrix", "0110", "--ops", "input,output", "--stem", "0"], "--stem must be >= 1"),
    (["complexity", "nb101", "--matrix", "01100", "--ops", "input,output"], "5 digits is not n\\*n"),
    (["complexity", "nb101", "--matrix", "00,00", "--ops", "input,output"], "no path from the input"),
    (["complexity", "nb101", "--matrix", "01,00", "--ops", "input,conv,output"], "2 vertices but 3 ops"),
    (["complexity", "nb201", "--stem", "8"], "--stem: option\\(s\\) of nb101 only"),
])
def test_cli_errors(argv, message):
    code, _, err = run_cli(*argv)
    assert code == 2 and "bench: error:" in err
    assert __import__("re").search(message, err), err


def test_cli_records_file_matches_official_counts():
    path = require_shared("nb101", "nb101_records.json")
    code, out, _ = run_cli("complexity", "nb101", "--records", str(path))
    assert code == 0
    lines = out.splitlines()
    records = json.loads(path.read_text())
    assert lines[0] == "arch_str,params,flops" and len(lines) == 1 + len(records)
    got = {line.split(",")[0]: int(line.split(",")[1]) for line in lines[1:]}
    assert got == {r["nb101_hash"]: r["trainable_parameters"] for r in records}


def test_cli_help_explains_nb101(capsys):
    with pytest.raises(SystemExit):
        main(["complexity", "--help"])
    text = capsys.readouterr().out
    assert "nb101" in text and "--records PATH" in text and "--matrix" in text and "graph hash" in text
