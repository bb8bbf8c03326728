"""DARTS-space ground truth: NDS records (measured) and the NAS-Bench-301 surrogate sample (predicted).

One table row per genotype, ``benchmark="darts"``, ``arch_str`` the canonical
genotype string of :mod:`bench.spaces.darts` (``str(genotype)``), ``index``
the entry's position in the file (neither source has an integer index).

NDS (Radosavovic et al., "On Network Design Spaces for Visual Recognition",
ICCV 2019): the released ``DARTS.json`` and its variants (``DARTS_fix-w-d``,
``DARTS_lr-wd``, ``DARTS_in``) are JSON lists of training records, each with
the network under ``net`` (``genotype`` with ``normal``, ``normal_concat``,
``reduce``, ``reduce_concat``; ``width``, ``depth``, ...) and per-epoch
top-1 *errors* in percent (``test_ep_top1``); some NDS files are instead an
object whose ``top`` and ``mid`` lists hold the records. Field names as the
public loaders of these files read them (e.g. ``100 - test_ep_top1[-1]`` as
the final accuracy); the code here is our own. Columns of
:func:`load_nds_json`:

================  ================================================================
column            meaning
================  ================================================================
test_acc_final    100 - ``test_ep_top1[-1]``: test accuracy after the last epoch
                  (:data:`NDS_DEFAULT_COLUMN`, the number NDS-based studies rank by)
test_acc_best     100 - ``min(test_ep_top1)``: the best epoch's test accuracy
width, depth      ``net.width`` (C) and ``net.depth`` (cells), when every record has them
params, flops     the file's own ``params`` and ``flops``, when every record has them
================  ================================================================

The dataset is whatever the file was trained on (CIFAR-10 for ``DARTS.json``,
ImageNet for the ``_in`` files); the table's ``source`` names the file. The
closed-form complexity of :mod:`bench.spaces.darts` is that of the CIFAR
network; an ``_in`` file's networks have an ImageNet stem.

NAS-Bench-301 (Siems et al. 2020): ``darts/nb301_surrogate_sample.json`` of a data directory (docs/data.md)
lists 725 genotypes (``normal``, ``reduce``) with ``val_accuracy`` in percent,
a *prediction* of the NAS-Bench-301 surrogate model (v1.0), not a training
result. :func:`load_nb301_surrogate_json` puts it in the column
``nb301_surrogate_valid`` and labels the table :data:`SURROGATE_LABEL`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.groundtruth.table import INDEX_COLUMN, KEY_COLUMN, GroundTruthError, GroundTruthTable
from bench.spaces.darts import Genotype, GenotypeError, genotype_from_dict

BENCHMARK = "darts"

NDS_DEFAULT_COLUMN = "test_acc_final"
NDS_BEST_COLUMN = "test_acc_best"
NDS_OPTIONAL_NET = ("width", "depth")
NDS_OPTIONAL_TOP = ("params", "flops")

SURROGATE_COLUMN = "nb301_surrogate_valid"
SURROGATE_LABEL = "surrogate predictions (NAS-Bench-301)"


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise GroundTruthError(f"{what} not found at {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot parse as JSON: {exc}") from None


def _records(data, path: Path) -> list:
    """The list of records: the file itself, or its ``top`` + ``mid`` lists (some NDS files)."""
    parts = ("top", "mid")
    if isinstance(data, dict) and set(parts) <= set(data) and all(isinstance(data[k], list) for k in parts):
        data = data["top"] + data["mid"]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise GroundTruthError(f"{path}: expected a JSON list of objects (one per network), or an object with "
                               "'top' and 'mid' lists of them")
    if not data:
        raise GroundTruthError(f"{path}: no records")
    return data


def _genotype(item: dict, where: str) -> Genotype:
    try:
        return genotype_from_dict(item)
    except GenotypeError as exc:
        raise GroundTruthError(f"{where}: invalid DARTS genotype: {exc}") from None


def _number(value, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and low <= value <= high):
        bounds = f" in [{low:g}, {high:g}]" if math.isfinite(low) or math.isfinite(high) else ""
        raise GroundTruthError(f"{where}: {value!r} is not a finite number{bounds}")
    return float(value)


def _errors(item: dict, where: str) -> list[float]:
    if "test_ep_top1" not in item:
        raise GroundTruthError(f"{where}: missing 'test_ep_top1' (per-epoch top-1 test errors); has "
                               f"{', '.join(item)}")
    errors = item["test_ep_top1"]
    if not isinstance(errors, list) or not errors:
        raise GroundTruthError(f"{where}: test_ep_top1 must be a non-empty list of per-epoch errors, got {errors!r}")
    return [_number(e, f"{where}, test_ep_top1[{i}] (a top-1 error in percent)", 0.0, 100.0)
            for i, e in enumerate(errors)]


def _table(rows: list[dict], columns: Sequence[str], source: str, label: str = "") -> GroundTruthTable:
    frame = pd.DataFrame(rows, columns=[KEY_COLUMN, *columns])
    frame.insert(0, INDEX_COLUMN, np.arange(len(frame), dtype=np.int64))
    duplicated = frame[KEY_COLUMN].duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = np.flatnonzero(duplicated)[0]
        same = np.flatnonzero((frame[KEY_COLUMN] == frame[KEY_COLUMN].iloc[first]).to_numpy())
        raise GroundTruthError(f"{source}: entries {same[:5].tolist()} hold the same genotype "
                               f"{frame[KEY_COLUMN].iloc[first]}; a table has one row per genotype")
    return GroundTruthTable(frame, benchmark=BENCHMARK, source=source, label=label)


def _nds_row(item: dict, where: str, optional_net: Sequence[str], optional_top: Sequence[str]) -> dict:
    if not isinstance(item.get("net"), dict):
        raise GroundTruthError(f"{where}: missing 'net' (the network: genotype, width, depth); has {', '.join(item)}")
    genotype = _genotype({"net": item["net"]}, where)
    errors = _errors(item, where)
    row = {KEY_COLUMN: str(genotype), NDS_DEFAULT_COLUMN: 100.0 - errors[-1], NDS_BEST_COLUMN: 100.0 - min(errors)}
    for key in optional_net:
        row[key] = _number(item["net"][key], f"{where}, net.{key}", 1.0)
    for key in optional_top:
        row[key] = _number(item[key], f"{where}, {key}", 0.0)
    return row


def load_nds_json(path) -> GroundTruthTable:
    """Load an NDS DARTS file (``DARTS.json`` or a variant): one row per record, columns as in the module docstring.

    Every genotype is validated (:func:`bench.spaces.darts.genotype_from_dict`:
    DARTS ops, inputs preceding their node, two distinct inputs per node,
    concat [2, 3, 4, 5]); errors name the entry. Two records with the same
    genotype (e.g. trained at two widths) are an error: the table is keyed by
    genotype alone.
    """
    path = Path(path)
    items = _records(_read_json(path, "NDS file"), path)
    optional_net = [k for k in NDS_OPTIONAL_NET if all(isinstance(x.get("net"), dict) and k in x["net"] for x in items)]
    optional_top = [k for k in NDS_OPTIONAL_TOP if all(k in x for x in items)]
    rows = [_nds_row(item, f"{path}: entry {i}", optional_net, optional_top) for i, item in enumerate(items)]
    return _table(rows, [NDS_DEFAULT_COLUMN, NDS_BEST_COLUMN, *optional_net, *optional_top], str(path))


def load_nb301_surrogate_json(path) -> GroundTruthTable:
    """Load ``nb301_surrogate_sample.json``: genotypes with NAS-Bench-301 surrogate predictions.

    Each entry needs ``normal``, ``reduce`` and ``val_accuracy`` (percent,
    in [0, 100]). Column :data:`SURROGATE_COLUMN`; ``label`` is
    :data:`SURROGATE_LABEL`: these are model predictions, not training results.
    """
    path = Path(path)
    items = _records(_read_json(path, "NAS-Bench-301 surrogate sample"), path)
    rows = []
    for i, item in enumerate(items):
        where = f"{path}: entry {i}"
        if "val_accuracy" not in item:
            raise GroundTruthError(f"{where}: missing 'val_accuracy'; has {', '.join(item)}")
        rows.append({KEY_COLUMN: str(_genotype(item, where)),
                     SURROGATE_COLUMN: _number(item["val_accuracy"], f"{where}, val_accuracy (percent)", 0.0, 100.0)})
    return _table(rows, [SURROGATE_COLUMN], str(path), label=SURROGATE_LABEL)


def load_darts(path) -> GroundTruthTable:
    """Load either format, told apart by the first record: ``net`` (NDS) or ``val_accuracy`` (NAS-Bench-301)."""
    path = Path(path)
    items = _records(_read_json(path, "DARTS ground-truth file"), path)
    first = items[0]
    if "net" in first:
        return load_nds_json(path)
    if "val_accuracy" in first:
        return load_nb301_surrogate_json(path)
    raise GroundTruthError(f"{path}: neither NDS records (with 'net' and 'test_ep_top1') nor the NAS-Bench-301 "
                           f"sample (with 'normal', 'reduce', 'val_accuracy'); first entry has keys "
                           f"{', '.join(first) or 'none'}")


def read_genotypes_json(path) -> list[Genotype]:
    """The genotypes of a JSON file of records, in order: NDS records, the NAS-Bench-301 sample,
    or bare genotypes (objects with ``normal`` and ``reduce``); a bad entry raises
    :class:`GroundTruthError` naming it."""
    path = Path(path)
    items = _records(_read_json(path, "DARTS genotypes file"), path)
    return [_genotype(item, f"{path}: entry {i}") for i, item in enumerate(items)]
