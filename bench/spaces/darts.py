"""The DARTS search space: genotypes, canonical strings, seeded sampling, closed-form complexity.

Sources: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search",
ICLR 2019, Sec. 2.1 (the cell) and Sec. 3.1-3.3 (the CIFAR-10 networks), and
the official code (github.com/quark0/darts, ``cnn/genotypes.py``:
``Genotype``, ``PRIMITIVES``; ``cnn/operations.py``: ``OPS``, ``ReLUConvBN``,
``SepConv``, ``DilConv``, ``FactorizedReduce``; ``cnn/model.py``: ``Cell``,
``NetworkCIFAR``); Radosavovic et al., "On Network Design Spaces for Visual
Recognition" (NDS), ICCV 2019, whose released records hold DARTS genotypes
under ``net.genotype`` and whose code (pycls ``models/nas``) ports the same
network; Siems et al., "NAS-Bench-301 and the Case for Surrogate Benchmarks
for Neural Architecture Search" (2020), whose space is this one. The code
below is written from those sources' documented behaviour, not copied.

The genotype
------------
A genotype has a normal and a reduction cell. A cell has two inputs, states 0
and 1 (the outputs of the previous two cells), and 4 intermediate nodes,
states 2..5. It is written, as in DARTS's ``Genotype``, as 8 (op, input)
pairs: pairs 2k and 2k+1 feed state k+2 (intermediate node k, k = 0..3),
whose value is the sum of the two ops' outputs; ``input`` j is a state, so
j <= k+1 (it must precede the node). The cell output concatenates states
2..5 (DARTS ``concat = range(2, 6)``); other concatenations are rejected.

Ops (:data:`OPS`): the DARTS ``PRIMITIVES`` without ``none``, spelled as in
the DARTS code, the NAS-Bench-301 sample (``darts/`` of a data directory) and the NDS
records. ``none`` (the zero op) is a search-phase candidate that DARTS's
derivation (``model_search.Network.genotype``) never keeps; it is rejected.
(The NDS files could not be inspected here; should one hold ``none``, the
loader names the record, and the op would have to be added as a zero op.)

The two inputs of a node must differ. DARTS derives each node's two edges
from distinct predecessors (the top-2 incoming edges, Sec. 2.4), and
NAS-Bench-301's configuration space chooses each node's inputs as a pair of
distinct states; the 725 cells of the shared sample obey it (5,800 nodes, no
repeat). The NDS DARTS records are expected to obey it too; the loader names
any record that does not.

Canonical form (our operationalization): a node sums its two ops, so the order
of its two pairs does not change the network. :class:`Cell` stores each node's
pairs with the lower input first, so two listings of the same network are
equal values with one string. Other isomorphisms (renumbering intermediate
nodes) are not merged. The string (``str(genotype)``, :func:`format_genotype`)
follows the NAS-Bench-201 arch string, one ``+``-joined group per node::

    normal=|sep_conv_3x3~0|sep_conv_3x3~1|+|...|+|...|+|...|;reduce=|...|+|...|+|...|+|...|

It has no commas or spaces, so it sits unquoted in a CSV (``arch_str``).
:func:`parse_genotype` reads it back, and also the DARTS ``repr`` of a
``Genotype(normal=[...], normal_concat=..., ...)`` and a JSON object in the
layouts of :func:`genotype_from_dict`.

The network and its complexity
------------------------------
:func:`complexity` counts, in closed form, the stand-alone CIFAR network of
DARTS ``model.NetworkCIFAR`` (also pycls ``nas.NetworkCIFAR``, used by NDS):
a 3x3 conv stem with ``3*C`` channels + BN; ``layers`` cells, the ones at
positions ``layers//3`` and ``2*layers//3`` being reduction cells that double
the channels (C at the start) and halve the resolution; each cell
preprocesses its inputs to C channels: the previous-previous output with a
``FactorizedReduce`` when the previous cell was a reduction (its output is
twice the resolution), else with ReLU-conv1x1-BN, and the previous output with
ReLU-conv1x1-BN; ops as in DARTS ``OPS`` with ``affine=True``:
``sep_conv_k`` = two stacked ReLU, depthwise kxk, pointwise 1x1, BN (the first
with the cell's stride), ``dil_conv_k`` = one ReLU, depthwise kxk dilation 2,
pointwise 1x1, BN, pools without BN (in the evaluation network; the search
network's ``MixedOp`` adds a non-affine BN, which has no parameters anyway),
``skip_connect`` the identity, or in a reduction cell on states 0 and 1 a
``FactorizedReduce(C, C)``; in a reduction cell the ops on states 0 and 1 have
stride 2; global average pool and a linear classifier. No auxiliary head
(DARTS's ``count_parameters_in_MB`` leaves it out too); drop path has no
parameters. Every conv is bias-free, every BN affine (2 parameters per
channel), the classifier has a bias. FLOPs are the multiply-accumulates of
the convolutions and the classifier for one image (the convention of
:mod:`bench.spaces.nb201` and :mod:`bench.spaces.nb101`), ignoring BN, ReLU,
pooling, additions and concatenations. At odd resolutions we follow pycls's
``FactorizedReduce``, which pads its shifted branch (DARTS's own cannot
concatenate there); every stride-2 layer then maps n pixels to ceil(n / 2).

Defaults (``C=36, layers=20, num_classes=10``, 32x32 RGB): the DARTS
evaluation network for CIFAR-10 (Liu et al. 2019, Sec. 3.3; ``train.py``
``--init_channels 36 --layers 20``), the setting at which DARTS-space cells
are usually quoted (3.3M parameters for the DARTS cells; DARTS_V2: 3,349,342,
the count DARTS's ``train.py`` logs). It is a complexity measure of the cell,
not of the network behind a label: each NDS record carries its own ``width``
(C) and ``depth`` (layers), and NAS-Bench-301's labels are for its own
training setting; price those networks with their own C and layers. :mod:`bench.spaces.darts_network` builds the same
network in PyTorch; ``tests/test_spaces_darts.py`` checks the closed form
against it.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.errors import BenchError
from bench.spaces.base import draw_distinct

MAX_POOL = "max_pool_3x3"
AVG_POOL = "avg_pool_3x3"
SKIP = "skip_connect"
SEP_CONV_3 = "sep_conv_3x3"
SEP_CONV_5 = "sep_conv_5x5"
DIL_CONV_3 = "dil_conv_3x3"
DIL_CONV_5 = "dil_conv_5x5"
NONE = "none"

OPS: tuple[str, ...] = (MAX_POOL, AVG_POOL, SKIP, SEP_CONV_3, SEP_CONV_5, DIL_CONV_3, DIL_CONV_5)
"""The ops of a DARTS genotype: DARTS ``PRIMITIVES`` in their order, without ``none``."""

NUM_INPUTS = 2
"""States 0 and 1 of a cell: the outputs of the previous two cells."""

NUM_NODES = 4
"""Intermediate nodes of a cell (DARTS ``steps``), states 2..5."""

PAIRS_PER_CELL = 2 * NUM_NODES

CONCAT: tuple[int, ...] = tuple(range(NUM_INPUTS, NUM_INPUTS + NUM_NODES))
"""States concatenated into the cell output: all intermediate nodes, (2, 3, 4, 5)."""

CELL_TYPES: tuple[str, ...] = ("normal", "reduce")

CELL_SPACE_SIZE = math.prod(math.comb(k + NUM_INPUTS, 2) * len(OPS) ** 2 for k in range(NUM_NODES))
"""Distinct cells up to the order of a node's two pairs: (1 * 3 * 6 * 10) * 49**4 = 1,037,664,180."""

SPACE_SIZE = CELL_SPACE_SIZE**2
"""Distinct genotypes (normal x reduction cell), about 1.08e18."""


class GenotypeError(BenchError):
    """A malformed or invalid DARTS genotype, cell, genotype string or network setting."""


# ---------------------------------------------------------------------------
# Cells and genotypes
# ---------------------------------------------------------------------------


def _check_op(op, position: int) -> str:
    if isinstance(op, str) and op in OPS:
        return op
    hint = ""
    if op == NONE:
        hint = " ('none' is the zero op of the DARTS search phase; a derived genotype never holds it)"
    raise GenotypeError(f"unknown op {op!r} in pair {position}; allowed: {', '.join(OPS)}{hint}")


def _check_input(value, position: int) -> int:
    node = position // 2 + NUM_INPUTS
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 0 <= value < node:
        return int(value)
    raise GenotypeError(
        f"pair {position} feeds node {node} and must take an input state in 0..{node - 1} "
        f"(0, 1: the two previous cells' outputs; j >= 2: intermediate node j), got {value!r}"
    )


def _check_pair(pair, position: int) -> tuple[str, int]:
    if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
        raise GenotypeError(f"pair {position} must be (op, input), got {pair!r}")
    return _check_op(pair[0], position), _check_input(pair[1], position)


def _canonical_pairs(pairs) -> tuple[tuple[str, int], ...]:
    """Validated pairs, each node's two pairs ordered by input (lower first)."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise GenotypeError(f"a DARTS cell is a sequence of (op, input) pairs, got {type(pairs).__name__}")
    if len(pairs) != PAIRS_PER_CELL:
        raise GenotypeError(
            f"a DARTS cell has {PAIRS_PER_CELL} (op, input) pairs, 2 for each of its {NUM_NODES} "
            f"intermediate nodes; got {len(pairs)}"
        )
    checked = [_check_pair(pair, p) for p, pair in enumerate(pairs)]
    out: list[tuple[str, int]] = []
    for k in range(NUM_NODES):
        a, b = checked[2 * k], checked[2 * k + 1]
        if a[1] == b[1]:
            raise GenotypeError(
                f"node {k + NUM_INPUTS} takes input {a[1]} twice (pairs {2 * k} and {2 * k + 1}); the two inputs "
                "of a node must differ, as in DARTS's derived genotypes and NAS-Bench-301's space"
            )
        out += [a, b] if a[1] < b[1] else [b, a]
    return tuple(out)


@dataclass(frozen=True, order=True)
class Cell:
    """One DARTS cell: 8 (op, input) pairs, pairs 2k and 2k+1 feeding state k+2 (immutable, hashable).

    The constructor validates and puts each node's pair with the lower input
    first (see the module docstring), so ``Cell(p) == Cell(q)`` when ``p``
    and ``q`` list the same network.
    """

    pairs: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", _canonical_pairs(self.pairs))

    @property
    def nodes(self) -> tuple[tuple[tuple[str, int], tuple[str, int]], ...]:
        """The pairs grouped per intermediate node (states 2..5)."""
        return tuple((self.pairs[2 * k], self.pairs[2 * k + 1]) for k in range(NUM_NODES))

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(op for op, _ in self.pairs)

    @property
    def inputs(self) -> tuple[int, ...]:
        return tuple(i for _, i in self.pairs)

    def to_list(self) -> list[list]:
        """``[[op, input], ...]``, the layout of the NDS and NAS-Bench-301 JSON files."""
        return [[op, i] for op, i in self.pairs]

    def __str__(self) -> str:
        return _format_cell(self)


def _as_cell(value, cell_type: str) -> Cell:
    if isinstance(value, Cell):
        return value
    try:
        return Cell(value)
    except GenotypeError as exc:
        raise GenotypeError(f"{cell_type} cell: {exc}") from None


@dataclass(frozen=True, order=True)
class Genotype:
    """A DARTS genotype: the normal and the reduction cell (immutable, hashable).

    ``normal`` and ``reduce`` may be given as :class:`Cell` values or as
    sequences of (op, input) pairs. ``str(genotype)`` is the canonical string
    (the ``arch_str`` of DARTS ground-truth tables).
    """

    normal: Cell
    reduce: Cell

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _as_cell(self.normal, "normal"))
        object.__setattr__(self, "reduce", _as_cell(self.reduce, "reduce"))

    def cell(self, reduction: bool) -> Cell:
        return self.reduce if reduction else self.normal

    def to_dict(self) -> dict:
        """The DARTS / NDS layout: ``normal``, ``normal_concat``, ``reduce``, ``reduce_concat``."""
        return {"normal": self.normal.to_list(), "normal_concat": list(CONCAT),
                "reduce": self.reduce.to_list(), "reduce_concat": list(CONCAT)}

    def __str__(self) -> str:
        return format_genotype(self)


# ---------------------------------------------------------------------------
# Strings and dicts
# ---------------------------------------------------------------------------


def _format_cell(cell: Cell) -> str:
    return "+".join("|" + "|".join(f"{op}~{i}" for op, i in node) + "|" for node in cell.nodes)


def format_genotype(genotype: Genotype) -> str:
    """The canonical string ``normal=|op~i|op~j|+...;reduce=|...|``; the inverse of :func:`parse_genotype`."""
    return f"normal={_format_cell(genotype.normal)};reduce={_format_cell(genotype.reduce)}"


def _parse_token(token: str, position: int, text: str) -> tuple[str, int]:
    op, sep, source = token.partition("~")
    if not sep or not source.isdigit():
        raise GenotypeError(f"malformed genotype string {text!r}: token {token!r} (pair {position}) "
                            "should be 'op~input'")
    return op, int(source)


def _parse_cell_string(body: str, cell_type: str, text: str) -> list[tuple[str, int]]:
    groups = body.split("+")
    if len(groups) != NUM_NODES:
        raise GenotypeError(f"malformed genotype string {text!r}: the {cell_type} cell needs {NUM_NODES} node "
                            f"groups joined by '+', got {len(groups)}")
    pairs: list[tuple[str, int]] = []
    for k, group in enumerate(groups):
        tokens = group[1:-1].split("|") if len(group) > 1 and group[0] == group[-1] == "|" else None
        if tokens is None or len(tokens) != 2:
            raise GenotypeError(f"malformed genotype string {text!r}: node group {group!r} of the {cell_type} cell "
                                "should be '|op~input|op~input|'")
        pairs += [_parse_token(t, 2 * k + j, text) for j, t in enumerate(tokens)]
    return pairs


def _parse_canonical(text: str) -> Genotype:
    parts = text.split(";")
    names = [p.partition("=")[0] for p in parts]
    if len(parts) != 2 or names != list(CELL_TYPES):
        raise GenotypeError(f"malformed genotype string {text!r}: expected 'normal=<cell>;reduce=<cell>', "
                            "each cell as |op~input|op~input|+... (4 node groups)")
    cells = {name: _parse_cell_string(p.partition("=")[2], name, text) for name, p in zip(names, parts)}
    return Genotype(cells["normal"], cells["reduce"])


def _literal(node: ast.AST):
    """A Python literal, or ``range(a, b)`` as a list (DARTS writes ``normal_concat=range(2, 6)``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        return list(range(*(ast.literal_eval(a) for a in node.args)))
    return ast.literal_eval(node)


def _parse_darts_repr(text: str) -> Genotype:
    """``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=..., reduce_concat=...)``."""
    try:
        call = ast.parse(text, mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"
                and not call.args):
            raise ValueError("not a call Genotype(normal=..., reduce=..., ...) with keyword arguments")
        fields = {kw.arg: _literal(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError, TypeError) as exc:
        raise GenotypeError(f"cannot read {text[:80]!r} as a DARTS Genotype(...): {exc}") from None
    return genotype_from_dict(fields)


def parse_genotype(text: str) -> Genotype:
    """A genotype from a string: the canonical form (:func:`format_genotype`), the DARTS
    ``repr`` ``Genotype(normal=[...], ...)``, or a JSON object (:func:`genotype_from_dict`).

    Fails with :class:`GenotypeError` naming what is wrong.
    """
    if not isinstance(text, str):
        raise GenotypeError(f"a genotype string must be a str, got {type(text).__name__}")
    text = text.strip()
    if text.startswith("Genotype("):
        return _parse_darts_repr(text)
    if text.startswith("{"):
        try:
            return genotype_from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise GenotypeError(f"cannot parse {text[:80]!r} as JSON: {exc}") from None
    return _parse_canonical(text)


def _check_concat(value, key: str) -> None:
    try:
        concat = [int(x) for x in value] if not isinstance(value, (str, bytes)) else None
    except (TypeError, ValueError):
        concat = None
    if concat != list(CONCAT):
        raise GenotypeError(f"{key} {value!r} is not supported: the DARTS space concatenates all "
                            f"{NUM_NODES} intermediate nodes, {list(CONCAT)}")


def genotype_from_dict(obj: Mapping) -> Genotype:
    """A genotype from a mapping in the layouts of the shared data and of NDS.

    Accepts ``{"normal": [[op, input], ...], "reduce": [...]}`` (the
    NAS-Bench-301 sample), optionally with ``normal_concat`` and
    ``reduce_concat`` (must be [2, 3, 4, 5]); the same under a ``genotype``
    key; and an NDS record, with it under ``net`` -> ``genotype``. Other keys
    (accuracies, width, ...) are ignored.
    """
    if not isinstance(obj, Mapping):
        raise GenotypeError(f"a genotype must be a mapping with 'normal' and 'reduce', got {type(obj).__name__}")
    for key in ("net", "genotype"):
        if key in obj:
            obj = obj[key]
            if not isinstance(obj, Mapping):
                raise GenotypeError(f"{key!r} must be a mapping holding the genotype, got {type(obj).__name__}")
    missing = [k for k in CELL_TYPES if k not in obj]
    if missing:
        raise GenotypeError(f"genotype lacks {' and '.join(map(repr, missing))}; it has keys "
                            f"{', '.join(map(str, obj)) or 'none'}")
    for cell_type in CELL_TYPES:
        if f"{cell_type}_concat" in obj:
            _check_concat(obj[f"{cell_type}_concat"], f"{cell_type}_concat")
    return Genotype(obj["normal"], obj["reduce"])


def as_genotype(value) -> Genotype:
    """``value`` as a :class:`Genotype`: itself, a string (:func:`parse_genotype`) or a mapping."""
    if isinstance(value, Genotype):
        return value
    if isinstance(value, str):
        return parse_genotype(value)
    if isinstance(value, Mapping):
        return genotype_from_dict(value)
    raise GenotypeError(f"expected a Genotype, a genotype string or a mapping, got {type(value).__name__}")


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------


def random_cell(rng: np.random.Generator) -> Cell:
    """One cell drawn uniformly: for each node, 2 distinct inputs among its predecessors
    (a uniform pair, ``rng.choice(k + 2, 2, replace=False)``) and an op for each, uniform
    over :data:`OPS` (``rng.integers``).

    This is the uniform distribution over the :data:`CELL_SPACE_SIZE` cells,
    as NAS-Bench-301's configuration space samples it (each node's input pair
    and each edge's op uniform and independent).
    """
    pairs: list[tuple[str, int]] = []
    for k in range(NUM_NODES):
        inputs = rng.choice(k + NUM_INPUTS, size=2, replace=False)
        ops = rng.integers(0, len(OPS), size=2)
        pairs += [(OPS[int(o)], int(i)) for o, i in zip(ops, inputs)]
    return Cell(tuple(pairs))


def random_genotype(rng: np.random.Generator) -> Genotype:
    """A normal then a reduction cell from :func:`random_cell`, independent."""
    normal = random_cell(rng)
    return Genotype(normal, random_cell(rng))


def sample_genotypes(n: int, seed: int, replace: bool = False) -> list[Genotype]:
    """``n`` genotypes from :func:`random_genotype` with ``np.random.default_rng(seed)``.

    Without replacement (the default) a repeat is redrawn, so the ``n``
    genotypes are distinct (repeats are all but impossible in a space of 1e18).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise GenotypeError(f"n must be an int >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    return draw_distinct(lambda: random_genotype(rng), n, key=lambda genotype: genotype, replace=replace)


# ---------------------------------------------------------------------------
# Complexity of the stand-alone network (DARTS model.NetworkCIFAR; see the
# module docstring). (params, MACs) per module; hw = output pixels.
# ---------------------------------------------------------------------------

DEFAULT_C = 36
DEFAULT_LAYERS = 20


@dataclass(frozen=True)
class Complexity:
    params: int
    flops: int


def reduction_layers(layers: int) -> tuple[int, ...]:
    """Positions of the reduction cells: ``layers // 3`` and ``2 * layers // 3`` (DARTS ``NetworkCIFAR``)."""
    return tuple(sorted({layers // 3, 2 * layers // 3}))


def _relu_conv_bn_1x1(c_in: int, c_out: int, hw: int) -> tuple[int, int]:
    return c_in * c_out + 2 * c_out, c_in * c_out * hw


def _factorized_reduce(c_in: int, c_out: int, hw: int) -> tuple[int, int]:
    """Two stride-2 1x1 convs to ``c_out // 2`` channels each, concatenated, and a BN."""
    return c_in * c_out + 2 * c_out, c_in * c_out * hw


def _op_cost(op: str, C: int, stride: int, hw: int) -> tuple[int, int]:
    """(params, MACs) of one op with C channels in and out, ``hw`` output pixels."""
    if op in (SEP_CONV_3, SEP_CONV_5):
        k2 = 9 if op == SEP_CONV_3 else 25
        return 2 * (C * k2 + C * C + 2 * C), 2 * (C * k2 + C * C) * hw
    if op in (DIL_CONV_3, DIL_CONV_5):
        k2 = 9 if op == DIL_CONV_3 else 25
        return C * k2 + C * C + 2 * C, (C * k2 + C * C) * hw
    if op == SKIP and stride == 2:
        return _factorized_reduce(C, C, hw)
    return 0, 0  # identity, max and average pooling


def _cell_cost(cell: Cell, c_pp: int, c_p: int, C: int, reduction: bool, spatial_in: int,
               spatial_out: int) -> tuple[int, int]:
    """(params, MACs) of one cell: its two preprocessings and its 8 ops.

    Both preprocessings output at ``spatial_in``, the resolution of state 1:
    after a reduction, the ``FactorizedReduce`` of the twice-larger state 0
    has the same parameters and MACs as a 1x1 conv at that resolution.
    """
    hw_in, hw_out = spatial_in * spatial_in, spatial_out * spatial_out
    p0, f0 = _relu_conv_bn_1x1(c_pp, C, hw_in)  # or FactorizedReduce after a reduction: same counts
    p1, f1 = _relu_conv_bn_1x1(c_p, C, hw_in)
    params, flops = p0 + p1, f0 + f1
    for op, source in cell.pairs:
        stride = 2 if reduction and source < NUM_INPUTS else 1
        p, f = _op_cost(op, C, stride, hw_out)
        params, flops = params + p, flops + f
    return params, flops


def _check_settings(**settings) -> None:
    for name, value in settings.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise GenotypeError(f"{name} must be an int >= 1, got {value!r}")


def complexity(
    genotype,
    C: int = DEFAULT_C,
    layers: int = DEFAULT_LAYERS,
    num_classes: int = 10,
    input_size: int = 32,
    in_channels: int = 3,
) -> Complexity:
    """Parameter count and MACs of the stand-alone DARTS CIFAR network for ``genotype``.

    ``genotype``: a :class:`Genotype`, a genotype string or a mapping
    (:func:`as_genotype`). ``C`` is DARTS's ``init_channels`` (NDS's
    ``width``), ``layers`` the number of cells (NDS's ``depth``). A stride-2
    layer maps n pixels to ceil(n / 2), as every stride-2 op of the network
    does with its padding.
    """
    genotype = as_genotype(genotype)
    _check_settings(C=C, layers=layers, num_classes=num_classes, input_size=input_size, in_channels=in_channels)
    spatial = input_size
    stem = 3 * C
    params, flops = in_channels * stem * 9 + 2 * stem, in_channels * stem * 9 * spatial * spatial
    c_pp, c_p, c_cur = stem, stem, C
    reductions = reduction_layers(layers)
    for i in range(layers):
        reduction = i in reductions
        spatial_in = spatial
        if reduction:
            c_cur *= 2
            spatial = (spatial + 1) // 2
        p, f = _cell_cost(genotype.cell(reduction), c_pp, c_p, c_cur, reduction, spatial_in, spatial)
        params, flops = params + p, flops + f
        c_pp, c_p = c_p, len(CONCAT) * c_cur
    params += c_p * num_classes + num_classes
    flops += c_p * num_classes
    return Complexity(params=params, flops=flops)


def params(genotype, **kwargs) -> int:
    """Trainable parameters of the stand-alone network; keywords as :func:`complexity`."""
    return complexity(genotype, **kwargs).params


def flops(genotype, **kwargs) -> int:
    """Multiply-accumulates of the stand-alone network for one image; keywords as :func:`complexity`."""
    return complexity(genotype, **kwargs).flops
