"""NAS-Bench-101 ground truth: the official TFRecord file and the shared JSON files.

Source: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture
Search", ICML 2019, Sec. 2.2-2.3 (every cell trained 3 times for 4, 12, 36 and
108 epochs on CIFAR-10; accuracy on a 10,000-image validation split of the
training set and on the test set) and the official ``api.py``
(``NASBench.__init__``, which reads the file) and ``lib/model_metrics.proto``.

One table row per cell (graph hash), ``benchmark="nb101"``:

==================  ==============================================================
column              meaning
==================  ==============================================================
index               row number in file order (NAS-Bench-101 has no integer index)
arch_str            the official graph hash (``str`` of a :class:`~bench.spaces.nb101.Cell`)
cifar10_valid_108   validation accuracy after 108 epochs, percent, mean over repeats
cifar10_test_108    test accuracy after 108 epochs, percent, mean over repeats
cifar10_train_108   train accuracy (fixed 10,000 training images), where available
cifar10_valid_54    validation accuracy half-way (epoch 54) through the 108-epoch run
cifar10_test_54     test accuracy half-way through the 108-epoch run
params              trainable parameters of the network (official count)
==================  ==============================================================

Loaders: :func:`load_nb101_tfrecord` (``nasbench_only108.tfrecord`` or the
full file, read with :mod:`bench.groundtruth.tfrecord`; metrics decoded from
the ``ModelMetrics`` protobuf by the minimal wire-format parser below),
:func:`load_nb101_records_json` and :func:`load_nb101_sample_json` (the files
of a data directory's ``nb101/``, docs/data.md), and :func:`load_nb101`, which picks one by file.
The search protocol ranks by ``cifar10_valid_108`` (:data:`DEFAULT_COLUMN`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from bench.groundtruth.table import INDEX_COLUMN, KEY_COLUMN, GroundTruthError, GroundTruthTable
from bench.groundtruth.tfrecord import frame_record, iter_records
from bench.spaces.nb101 import CellError, make_cell

BENCHMARK = "nb101"
DEFAULT_COLUMN = "cifar10_valid_108"
PARAMS_COLUMN = "params"
SAMPLE_LABEL = "single training repeat"
"""``label`` of the table from ``nb101_sample.json``: one seed's accuracy, not a mean."""

TFRECORD_RELPATH = Path("nb101") / "nasbench_only108.tfrecord"

_HASH = re.compile(r"[0-9a-f]{32}")


def default_tfrecord_path(data_dir) -> Path:
    """Where the official file is expected inside a data folder: ``data_dir/nb101/nasbench_only108.tfrecord``."""
    return Path(data_dir) / TFRECORD_RELPATH


def accuracy_columns(epochs: int = 108) -> dict[str, str]:
    """Column names for a run of ``epochs``: keys train, valid, test (final) and valid_half, test_half."""
    half = epochs // 2
    return {
        "train": f"cifar10_train_{epochs}",
        "valid": f"cifar10_valid_{epochs}",
        "test": f"cifar10_test_{epochs}",
        "valid_half": f"cifar10_valid_{half}",
        "test_half": f"cifar10_test_{half}",
    }


# ---------------------------------------------------------------------------
# ModelMetrics protobuf (lib/model_metrics.proto, proto2), minimal:
#   ModelMetrics   1: repeated EvaluationData evaluation_data
#                  2: int32 trainable_parameters   3: double total_time
#   EvaluationData 1: double current_epoch  2: training_time  3: train_accuracy
#                  4: validation_accuracy   5: test_accuracy
#                  6: string checkpoint_path  7: double predict_time
# Wire format: key = field << 3 | type; type 0 varint, 1 fixed64, 2 length-
# delimited, 5 fixed32. Unknown fields are skipped.
# ---------------------------------------------------------------------------

_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
                5: "test_accuracy", 7: "predict_time"}


@dataclass(frozen=True)
class Evaluation:
    """One ``EvaluationData``: accuracies are fractions; NaN where the field is absent."""

    current_epoch: float = math.nan
    training_time: float = math.nan
    train_accuracy: float = math.nan
    validation_accuracy: float = math.nan
    test_accuracy: float = math.nan
    predict_time: float = math.nan


@dataclass(frozen=True)
class ModelMetrics:
    evaluations: tuple[Evaluation, ...]
    trainable_parameters: int | None
    total_time: float = math.nan


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise GroundTruthError("malformed protobuf: truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(buf: bytes):
    """Yield (field number, wire type, value): int for varints, bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise GroundTruthError(f"malformed protobuf: unsupported wire type {wire} (field {number})")
        if pos > len(buf):
            raise GroundTruthError(f"malformed protobuf: field {number} runs past the end of the message")
        yield number, wire, value


def _double(wire: int, value, field: str) -> float:
    if wire != 1:
        raise GroundTruthError(f"malformed ModelMetrics: {field} should be a double (wire type 1), got {wire}")
    return struct.unpack("<d", value)[0]


def _parse_evaluation(buf: bytes) -> Evaluation:
    values = {}
    for number, wire, value in _fields(buf):
        if number in _EVAL_FIELDS:
            values[_EVAL_FIELDS[number]] = _double(wire, value, _EVAL_FIELDS[number])
    return Evaluation(**values)


def parse_model_metrics(buf: bytes) -> ModelMetrics:
    """Decode a serialized ``nasbench.ModelMetrics`` message (the fields above; others skipped)."""
    evaluations, params, total_time = [], None, math.nan
    for number, wire, value in _fields(bytes(buf)):
        if number == 1 and wire == 2:
            evaluations.append(_parse_evaluation(value))
        elif number == 2 and wire == 0:
            params = value - (1 << 64) if value >= 1 << 63 else value  # int32: negatives take 10 bytes
        elif number == 3:
            total_time = _double(wire, value, "total_time")
    return ModelMetrics(tuple(evaluations), params, total_time)


def _encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _encode_evaluation(ev: Evaluation) -> bytes:
    out = bytearray()
    for number, name in _EVAL_FIELDS.items():
        value = getattr(ev, name)
        if not math.isnan(value):
            out += _encode_varint(number << 3 | 1) + struct.pack("<d", value)
    return bytes(out)


def encode_model_metrics(metrics: ModelMetrics) -> bytes:
    """Serialize ``metrics`` in the protobuf wire format (NaN fields omitted); the inverse of
    :func:`parse_model_metrics`, for writing test files in the official format."""
    out = bytearray()
    for ev in metrics.evaluations:
        body = _encode_evaluation(ev)
        out += _encode_varint(1 << 3 | 2) + _encode_varint(len(body)) + body
    if metrics.trainable_parameters is not None:
        out += _encode_varint(2 << 3 | 0) + _encode_varint(metrics.trainable_parameters)
    if not math.isnan(metrics.total_time):
        out += _encode_varint(3 << 3 | 1) + struct.pack("<d", metrics.total_time)
    return bytes(out)


# ---------------------------------------------------------------------------
# One record of the official file: JSON [module_hash, epochs, raw_adjacency,
# raw_operations, raw_metrics] (api.py: adjacency as a string of n*n digits
# row by row, ops joined by ',', metrics base64 of ModelMetrics). The file
# has one record per (cell, epoch budget, repeat).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Nb101Record:
    module_hash: str
    epochs: int
    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    metrics: ModelMetrics


def _matrix_from_string(raw: str) -> tuple[tuple[int, ...], ...]:
    n = math.isqrt(len(raw))
    if n * n != len(raw) or n < 2 or set(raw) - {"0", "1"}:
        raise GroundTruthError(f"adjacency {raw!r} is not a string of n*n digits 0/1 (n >= 2)")
    return tuple(tuple(int(c) for c in raw[r * n:(r + 1) * n]) for r in range(n))


def _raw_fields(data: bytes) -> tuple[str, int, str, str, ModelMetrics]:
    """(module_hash, epochs, raw_adjacency, raw_operations, metrics) of one record payload, checked."""
    try:
        fields = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroundTruthError(f"record is not UTF-8 JSON: {exc}") from None
    if not isinstance(fields, list) or len(fields) != 5:
        raise GroundTruthError("record must be a JSON list [module_hash, epochs, raw_adjacency, raw_operations, "
                               f"raw_metrics], got {str(fields)[:120]}")
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = fields
    if not isinstance(module_hash, str) or not _HASH.fullmatch(module_hash):
        raise GroundTruthError(f"module_hash {module_hash!r} is not 32 lowercase hex digits")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise GroundTruthError(f"epochs {epochs!r} of {module_hash} is not a positive integer")
    if not isinstance(raw_adjacency, str) or not isinstance(raw_operations, str):
        raise GroundTruthError(f"adjacency and operations of {module_hash} must be strings")
    try:
        metrics = parse_model_metrics(base64.b64decode(raw_metrics, validate=True))
    except (binascii.Error, TypeError, ValueError) as exc:
        raise GroundTruthError(f"metrics of {module_hash}: {exc}") from None
    return module_hash, epochs, raw_adjacency, raw_operations, metrics


def parse_nb101_record(data: bytes) -> Nb101Record:
    """Decode one record payload of the official file; :class:`GroundTruthError` says what is wrong."""
    module_hash, epochs, raw_adjacency, raw_operations, metrics = _raw_fields(data)
    return Nb101Record(module_hash, epochs, _matrix_from_string(raw_adjacency),
                       tuple(raw_operations.split(",")), metrics)


def encode_nb101_record(record: Nb101Record) -> bytes:
    """The JSON payload of one record in the official format (the inverse of :func:`parse_nb101_record`)."""
    adjacency = "".join(str(x) for row in record.matrix for x in row)
    metrics = base64.b64encode(encode_model_metrics(record.metrics)).decode("ascii")
    return json.dumps([record.module_hash, record.epochs, adjacency, ",".join(record.ops), metrics]).encode()


def nb101_tfrecord_bytes(records: Sequence[Nb101Record]) -> bytes:
    """A whole TFRecord file holding ``records`` (for tests and small exports)."""
    return b"".join(frame_record(encode_nb101_record(r)) for r in records)


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------


def _check_fraction(value, where: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise GroundTruthError(f"{where}: {value!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise GroundTruthError(f"{where}: {value!r} is not an accuracy fraction in [0, 1]")
    return value


def _check_cell(matrix, ops, expected_hash: str, where: str) -> None:
    """The (matrix, ops) must be a valid cell whose official hash is ``expected_hash``."""
    try:
        cell = make_cell(matrix, ops)
    except CellError as exc:
        raise GroundTruthError(f"{where}: invalid cell: {exc}") from None
    if cell.hash != expected_hash:
        raise GroundTruthError(f"{where}: the cell's graph hash is {cell.hash}, the file says {expected_hash}")


def _table(rows, columns: Sequence[str], source: str, label: str = "") -> GroundTruthTable:
    """A table from ``rows`` (a list of dicts, or a dict of columns) with ``columns`` after arch_str."""
    frame = pd.DataFrame(rows, columns=[KEY_COLUMN, *columns])
    if frame.empty:
        raise GroundTruthError(f"{source}: no NAS-Bench-101 cells found")
    frame.insert(0, INDEX_COLUMN, np.arange(len(frame), dtype=np.int64))
    duplicated = frame[KEY_COLUMN].duplicated(keep=False)
    if duplicated.any():
        rows_dup = np.flatnonzero(duplicated.to_numpy())
        raise GroundTruthError(f"{source}: hash {frame[KEY_COLUMN].iloc[rows_dup[0]]} appears in entries "
                               f"{rows_dup[:5].tolist()}")
    return GroundTruthTable(frame, benchmark=BENCHMARK, source=source, label=label)


_REPEAT_VALUES = (("train", 2, "train_accuracy"), ("valid", 2, "validation_accuracy"), ("test", 2, "test_accuracy"),
                  ("valid_half", 1, "validation_accuracy"), ("test_half", 1, "test_accuracy"))
"""(column key, evaluation_data index, field): api.py reads [1] as half-way and [2] as the end of training
([0] is step 0)."""


class _Cell:
    """One cell's repeats in the official file, kept compact (the full file has 423,624 cells):
    the raw adjacency and ops strings, the parameter count, and running sums of the accuracies."""

    __slots__ = ("adjacency", "ops", "params", "sums", "count")

    def __init__(self, adjacency: str, ops: str, params: int | None) -> None:
        self.adjacency, self.ops, self.params = adjacency, sys.intern(ops), params
        self.sums = [0.0] * len(_REPEAT_VALUES)
        self.count = 0


def _add_repeat(cells: dict[str, _Cell], fields: tuple) -> None:
    """Fold one repeat into its cell; errors name the cell (the caller adds the record)."""
    module_hash, _, adjacency, ops, metrics = fields
    cell = cells.get(module_hash)
    if cell is None:
        _matrix_from_string(adjacency)  # checks the form once per cell
        cell = cells[module_hash] = _Cell(adjacency, ops, metrics.trainable_parameters)
    elif (adjacency, ops, metrics.trainable_parameters) != (cell.adjacency, cell.ops, cell.params):
        raise GroundTruthError(f"repeat of {module_hash} disagrees with an earlier one on "
                               "matrix, ops or trainable_parameters")
    evaluations = metrics.evaluations
    if len(evaluations) < 3:
        raise GroundTruthError(f"{module_hash} has {len(evaluations)} evaluation_data entries; "
                               "expected 3 (start, half-way, end of training)")
    for i, (key, position, attr) in enumerate(_REPEAT_VALUES):
        cell.sums[i] += _check_fraction(getattr(evaluations[position], attr), f"{module_hash}, {attr} ({key})")
    cell.count += 1


def _cell_columns(cells: dict[str, _Cell], names: dict[str, str], source: str) -> dict[str, list]:
    """Table columns (arch_str, accuracy means in percent, params) straight from the accumulators."""
    columns: dict[str, list] = {KEY_COLUMN: list(cells), PARAMS_COLUMN: []}
    for key, _, _ in _REPEAT_VALUES:
        columns[names[key]] = []
    for module_hash, cell in cells.items():
        if cell.params is None or cell.params < 1:
            raise GroundTruthError(f"{source}: cell {module_hash}: trainable_parameters missing or not positive "
                                   f"({cell.params!r})")
        columns[PARAMS_COLUMN].append(cell.params)
        for (key, _, _), total in zip(_REPEAT_VALUES, cell.sums):
            columns[names[key]].append(100.0 * total / cell.count)
    return columns


def load_nb101_tfrecord(
    path,
    *,
    epochs: int = 108,
    verify_crc: bool = True,
    check_cells: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GroundTruthTable:
    """Load the official NAS-Bench-101 file (``nasbench_only108.tfrecord`` or ``nasbench_full.tfrecord``).

    Keeps the records of the ``epochs`` budget (108: the only108 file holds
    nothing else) and averages each cell's repeats (3 in the official file):
    accuracies at the end of training (``evaluation_data[2]``) and half-way
    (``evaluation_data[1]``), as the official ``api.py`` reads them, in
    percent. Checks: TFRecord framing and CRCs (the data CRC only when
    ``verify_crc``), the record format, accuracies in [0, 1], repeats
    agreeing on the cell and its parameters; with ``check_cells`` also that
    every cell is valid and hashes to its ``module_hash``.
    ``progress(records_read)`` is called every 100,000 records.

    Cost, extrapolated from 9,000 synthetic records on a busy 2-core machine
    to the 1.27 million records (0.5 GB) of ``nasbench_only108.tfrecord``:
    about 2 minutes to parse, 1 more for pure-Python data CRCs (less with
    the ``crc32c`` package installed), several more with ``check_cells``
    (the graph hash of 423,624 cells).
    """
    path = Path(path)
    if not path.is_file():
        raise GroundTruthError(f"NAS-Bench-101 file not found at {path}; expected the official "
                               f"nasbench_only108.tfrecord (e.g. <data-dir>/{TFRECORD_RELPATH.as_posix()})")
    cells: dict[str, _Cell] = {}
    count = 0
    for count, data in enumerate(iter_records(path, verify_data=verify_crc), start=1):
        where = f"{path}: record {count - 1}"
        try:
            fields = _raw_fields(data)
            if fields[1] == epochs:
                _add_repeat(cells, fields)
        except GroundTruthError as exc:
            raise GroundTruthError(f"{where}: {exc}") from None
        if progress is not None and count % 100_000 == 0:
            progress(count)
    if not cells:
        raise GroundTruthError(f"{path}: {count} record(s), none with epochs={epochs}")
    if check_cells:
        for module_hash, cell in cells.items():
            _check_cell(_matrix_from_string(cell.adjacency), cell.ops.split(","), module_hash,
                        f"{path}: cell {module_hash}")
    names = accuracy_columns(epochs)
    data = _cell_columns(cells, names, str(path))
    del cells
    order = [names[k] for k in ("valid", "test", "train", "valid_half", "test_half")] + [PARAMS_COLUMN]
    return _table(data, order, f"{path} (epochs={epochs}, mean over repeats)")


def _read_json_list(path: Path, what: str) -> list:
    if not path.is_file():
        raise GroundTruthError(f"{what} not found at {path}")
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot parse as JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise GroundTruthError(f"{path}: expected a JSON list of objects (one per cell)")
    return items


def _require(item: dict, keys: Sequence[str], where: str) -> None:
    missing = [k for k in keys if k not in item]
    if missing:
        raise GroundTruthError(f"{where}: missing key(s) {', '.join(missing)}; has {', '.join(item)}")


_RECORD_KEYS = {"valid": "val_acc_108", "test": "test_acc_108", "train": "train_acc_108",
                "valid_half": "val_acc_54", "test_half": "test_acc_54"}


def _mean_percent(item: dict, key: str, where: str) -> float:
    values = item[key]
    if not isinstance(values, list) or not values:
        raise GroundTruthError(f"{where}: {key} must be a non-empty list of per-repeat accuracies, got {values!r}")
    return 100.0 * float(np.mean([_check_fraction(v, f"{where}, {key}") for v in values]))


def load_nb101_records_json(path) -> GroundTruthTable:
    """Load ``nb101_records.json``: complete official records, means of the repeats in percent.

    Each entry needs ``nb101_hash``, ``matrix``, ``ops``,
    ``trainable_parameters``, ``val_acc_108`` and ``test_acc_108`` (lists of
    per-repeat fractions); ``train_acc_108``, ``val_acc_54``, ``test_acc_54``
    become columns when every entry has them. Every cell is validated and
    its hash recomputed.
    """
    path = Path(path)
    items = _read_json_list(path, "NAS-Bench-101 records file")
    names = accuracy_columns(108)
    optional = [k for k in ("train", "valid_half", "test_half") if items and all(_RECORD_KEYS[k] in x for x in items)]
    rows = []
    for i, item in enumerate(items):
        where = f"{path}: entry {i}"
        _require(item, ["nb101_hash", "matrix", "ops", "trainable_parameters", "val_acc_108", "test_acc_108"], where)
        _check_cell(item["matrix"], item["ops"], item["nb101_hash"], where)
        params = item["trainable_parameters"]
        if not isinstance(params, int) or isinstance(params, bool) or params < 1:
            raise GroundTruthError(f"{where}: trainable_parameters {params!r} is not a positive integer")
        row = {KEY_COLUMN: item["nb101_hash"], PARAMS_COLUMN: params}
        for key in ("valid", "test", *optional):
            row[names[key]] = _mean_percent(item, _RECORD_KEYS[key], where)
        rows.append(row)
    columns = [names[k] for k in ("valid", "test", *optional)] + [PARAMS_COLUMN]
    return _table(rows, columns, f"{path} (mean over repeats)")


def load_nb101_sample_json(path) -> GroundTruthTable:
    """Load ``nb101_sample.json``: one training repeat's 108-epoch validation accuracy per cell.

    Columns ``cifar10_valid_108`` (``val_accuracy``, percent, one seed: the
    table's ``label`` is :data:`SAMPLE_LABEL`) and ``params``
    (``params_M`` * 1e6, the official count for the hash: for 3 of the 292
    cells the stored vertex order is an isomorphic reordering whose own
    count differs, see :mod:`bench.spaces.nb101`). Every cell is validated
    and its hash recomputed.
    """
    path = Path(path)
    items = _read_json_list(path, "NAS-Bench-101 sample file")
    rows = []
    for i, item in enumerate(items):
        where = f"{path}: entry {i}"
        _require(item, ["nb101_hash", "matrix", "ops", "val_accuracy", "params_M"], where)
        _check_cell(item["matrix"], item["ops"], item["nb101_hash"], where)
        acc = item["val_accuracy"]
        if not isinstance(acc, (int, float)) or isinstance(acc, bool) or not 0.0 <= acc <= 100.0:
            raise GroundTruthError(f"{where}: val_accuracy {acc!r} is not an accuracy in percent, in [0, 100]")
        params_m = item["params_M"]
        if not isinstance(params_m, (int, float)) or isinstance(params_m, bool) or not params_m > 0:
            raise GroundTruthError(f"{where}: params_M {params_m!r} is not a positive number")
        rows.append({KEY_COLUMN: item["nb101_hash"], DEFAULT_COLUMN: float(acc),
                     PARAMS_COLUMN: int(round(params_m * 1e6))})
    return _table(rows, [DEFAULT_COLUMN, PARAMS_COLUMN], str(path), label=SAMPLE_LABEL)


def load_nb101(path, **kwargs) -> GroundTruthTable:
    """Load any of the three formats: ``*.tfrecord`` (official), or a JSON list in the records or sample shape."""
    path = Path(path)
    if path.suffix == ".tfrecord":
        return load_nb101_tfrecord(path, **kwargs)
    items = _read_json_list(path, "NAS-Bench-101 file")
    first = items[0] if items else {}
    if "val_acc_108" in first:
        return load_nb101_records_json(path)
    if "val_accuracy" in first:
        return load_nb101_sample_json(path)
    raise GroundTruthError(f"{path}: neither the records format (val_acc_108, ...) nor the sample format "
                           f"(val_accuracy, params_M); first entry has keys {', '.join(first) or 'none'}")


def read_cells_json(path) -> list:
    """The cells of a JSON list of objects with ``matrix`` and ``ops`` (records or sample format), in order.

    Each is pruned and validated (:func:`bench.spaces.nb101.make_cell`); a
    bad entry raises :class:`GroundTruthError` naming it.
    """
    path = Path(path)
    items = _read_json_list(path, "NAS-Bench-101 cells file")
    cells = []
    for i, item in enumerate(items):
        _require(item, ["matrix", "ops"], f"{path}: entry {i}")
        try:
            cells.append(make_cell(item["matrix"], item["ops"]))
        except CellError as exc:
            raise GroundTruthError(f"{path}: entry {i}: invalid cell: {exc}") from None
    return cells
