"""NAS-Bench-101 ground truth: TFRecord framing, the ModelMetrics protobuf, the loaders.

The TFRecord tests write small files in the official format themselves; the
JSON loaders read ../shared/data/nb101 (skipped when absent) or small files
written here.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from bench.groundtruth import nb101 as gt
from bench.groundtruth.table import GroundTruthError
from bench.groundtruth.tfrecord import (
    TFRecordError,
    crc32c,
    frame_record,
    iter_records,
    masked_crc32c,
    write_records,
)
from bench.spaces import nb101 as space
from conftest import require_shared

C3, C1, MP = space.CONV3X3, space.CONV1X1, space.MAXPOOL3X3


# -- TFRecord framing -----------------------------------------------------------


def test_crc32c_check_values():
    # Standard CRC-32C check value, and RFC 3720 (iSCSI) B.4: 32 bytes of zeros.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"") == 0
    crc = crc32c(b"abc")
    assert masked_crc32c(b"abc") == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def test_record_framing_layout():
    framed = frame_record(b"hello")
    assert len(framed) == 8 + 4 + 5 + 4
    assert struct.unpack("<Q", framed[:8])[0] == 5
    assert struct.unpack("<I", framed[8:12])[0] == masked_crc32c(framed[:8])
    assert framed[12:17] == b"hello"
    assert struct.unpack("<I", framed[17:])[0] == masked_crc32c(b"hello")


def test_tfrecord_round_trip_and_corruption(tmp_path):
    payloads = [b"", b"a", b"x" * 1000, json.dumps([1, 2]).encode()]
    path = write_records(tmp_path / "r.tfrecord", payloads)
    assert list(iter_records(path)) == payloads

    raw = bytearray(path.read_bytes())
    raw[12 + 0 + 4 + 12 + 0] ^= 0xFF  # first byte of record 1's payload ("a")
    (tmp_path / "bad.tfrecord").write_bytes(bytes(raw))
    with pytest.raises(TFRecordError, match="record 1 at byte 16: data CRC mismatch"):
        list(iter_records(tmp_path / "bad.tfrecord"))
    assert len(list(iter_records(tmp_path / "bad.tfrecord", verify_data=False))) == 4

    raw = bytearray(path.read_bytes())
    raw[0] ^= 1  # record 0's length
    (tmp_path / "len.tfrecord").write_bytes(bytes(raw))
    with pytest.raises(TFRecordError, match="record 0 at byte 0: length CRC mismatch"):
        list(iter_records(tmp_path / "len.tfrecord"))

    (tmp_path / "short.tfrecord").write_bytes(path.read_bytes()[:-3])
    with pytest.raises(TFRecordError, match="record 3 .*truncated data"):
        list(iter_records(tmp_path / "short.tfrecord"))


# -- ModelMetrics protobuf -----------------------------------------------------------


def test_model_metrics_wire_format_by_hand():
    # field 1 (length-delimited) holding field 1 (double 1.0); field 2 varint 300.
    expected = (b"\x0a\x09" + b"\x09" + struct.pack("<d", 1.0)) + b"\x10\xac\x02"
    metrics = gt.ModelMetrics((gt.Evaluation(current_epoch=1.0),), 300)
    assert gt.encode_model_metrics(metrics) == expected
    parsed = gt.parse_model_metrics(expected)
    assert parsed.trainable_parameters == 300 and parsed.evaluations[0].current_epoch == 1.0
    assert math.isnan(parsed.evaluations[0].validation_accuracy)


def test_model_metrics_skip_unknown_fields_and_negative_int32():
    ev = gt.Evaluation(current_epoch=108.0, training_time=1.5, train_accuracy=1.0, validation_accuracy=0.93,
                       test_accuracy=0.92, predict_time=0.25)
    body = gt.encode_model_metrics(gt.ModelMetrics((ev,), -5, total_time=9.0))
    path_field = b"\x32\x04ckpt"  # EvaluationData.checkpoint_path (string, field 6)
    inner = gt._encode_evaluation(ev) + path_field
    with_extras = (b"\x0a" + bytes([len(inner)]) + inner + b"\x48\x07"  # unknown field 9, varint
                   + b"\x10" + bytes.fromhex("fbffffffffffffffff01") + b"\x19" + struct.pack("<d", 9.0))
    for buf in (body, with_extras):
        parsed = gt.parse_model_metrics(buf)
        assert parsed.evaluations == (ev,)
        assert parsed.trainable_parameters == -5 and parsed.total_time == 9.0
    with pytest.raises(GroundTruthError, match="truncated or overlong varint"):
        gt.parse_model_metrics(b"\x10\xff")
    with pytest.raises(GroundTruthError, match="runs past the end"):
        gt.parse_model_metrics(b"\x0a\x10abc")


# -- the official file format ---------------------------------------------------------

CELLS = [
    space.make_cell([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, MP, "output"]),
    space.make_cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C1, "output"]),
    space.make_cell([[0, 1], [0, 0]], ["input", "output"]),
]


def evaluations(valid: float, test: float, train: float = 1.0) -> tuple[gt.Evaluation, ...]:
    """Step 0, half-way (accuracies minus 0.2) and the end, as in the official records."""
    return (gt.Evaluation(current_epoch=0.0, train_accuracy=0.1, validation_accuracy=0.1, test_accuracy=0.1),
            gt.Evaluation(current_epoch=54.0, train_accuracy=train - 0.2, validation_accuracy=valid - 0.2,
                          test_accuracy=test - 0.2),
            gt.Evaluation(current_epoch=108.0, train_accuracy=train, validation_accuracy=valid,
                          test_accuracy=test))


def official_records(epochs: int = 108) -> list[gt.Nb101Record]:
    records = []
    for i, cell in enumerate(CELLS):
        for repeat in range(3):
            metrics = gt.ModelMetrics(evaluations(0.80 + 0.05 * i + 0.01 * repeat, 0.70 + 0.05 * i),
                                      space.complexity(cell).params)
            records.append(gt.Nb101Record(cell.hash, epochs, cell.matrix, cell.ops, metrics))
    return records


def test_record_payload_is_the_official_json_list():
    record = official_records()[0]
    fields = json.loads(gt.encode_nb101_record(record))
    assert fields[:4] == [CELLS[0].hash, 108, "0100001000010000", "input,conv3x3-bn-relu,maxpool3x3,output"]
    assert gt.parse_nb101_record(gt.encode_nb101_record(record)) == record


def test_load_tfrecord_means_over_repeats(tmp_path):
    shorter = official_records(epochs=36)[:3]  # another budget, interleaved: ignored
    records = official_records()
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(gt.nb101_tfrecord_bytes(records[:4] + shorter + records[4:]))
    table = gt.load_nb101(path)
    assert table.benchmark == "nb101" and table.label == ""
    assert table.columns == ("cifar10_valid_108", "cifar10_test_108", "cifar10_train_108",
                             "cifar10_valid_54", "cifar10_test_54", "params")
    assert table.arch_strs == tuple(c.hash for c in CELLS)
    assert list(table.indices) == [0, 1, 2]
    np.testing.assert_allclose(table.values("cifar10_valid_108"), [81.0, 86.0, 91.0])
    np.testing.assert_allclose(table.values("cifar10_test_108"), [70.0, 75.0, 80.0])
    np.testing.assert_allclose(table.values("cifar10_valid_54"), [61.0, 66.0, 71.0])
    np.testing.assert_allclose(table.values("cifar10_train_108"), [100.0] * 3)
    assert table.by_arch(CELLS[1], "params") == space.complexity(CELLS[1]).params  # a Cell is its own key

    table36 = gt.load_nb101_tfrecord(path, epochs=36, check_cells=True)
    assert len(table36) == 1 and "cifar10_valid_36" in table36.columns and "cifar10_test_18" in table36.columns
    with pytest.raises(GroundTruthError, match="none with epochs=12"):
        gt.load_nb101_tfrecord(path, epochs=12)


def _write(tmp_path, records, name="t.tfrecord"):
    path = tmp_path / name
    path.write_bytes(gt.nb101_tfrecord_bytes(records))
    return path


def test_tfrecord_loader_checks(tmp_path):
    records = official_records()
    wrong_hash = [gt.Nb101Record("0" * 32, 108, r.matrix, r.ops, r.metrics) for r in records[:3]]
    path = _write(tmp_path, wrong_hash)
    assert len(gt.load_nb101_tfrecord(path)) == 1  # hashes are taken on trust by default
    with pytest.raises(GroundTruthError, match="graph hash is .*, the file says 0{32}"):
        gt.load_nb101_tfrecord(path, check_cells=True)

    other_params = gt.ModelMetrics(records[1].metrics.evaluations, 12345)
    clash = [records[0], gt.Nb101Record(CELLS[0].hash, 108, CELLS[0].matrix, CELLS[0].ops, other_params)]
    with pytest.raises(GroundTruthError, match="record 1: repeat of .* disagrees"):
        gt.load_nb101_tfrecord(_write(tmp_path, clash))

    bad_acc = gt.ModelMetrics(evaluations(1.5, 0.7), 10)
    with pytest.raises(GroundTruthError, match=r"validation_accuracy \(valid\): 1.5 is not an accuracy fraction"):
        gt.load_nb101_tfrecord(_write(tmp_path, [gt.Nb101Record(CELLS[0].hash, 108, CELLS[0].matrix,
                                                                CELLS[0].ops, bad_acc)]))

    short = gt.ModelMetrics(evaluations(0.9, 0.9)[:2], 10)
    with pytest.raises(GroundTruthError, match="2 evaluation_data entries; expected 3"):
        gt.load_nb101_tfrecord(_write(tmp_path, [gt.Nb101Record(CELLS[0].hash, 108, CELLS[0].matrix,
                                                                CELLS[0].ops, short)]))

    path = tmp_path / "junk.tfrecord"
    write_records(path, [b'["abc", 108, "0100", "input,output", ""]'])
    with pytest.raises(GroundTruthError, match="record 0: module_hash 'abc' is not 32 lowercase hex"):
        gt.load_nb101_tfrecord(path)
    write_records(path, [b"not json"])
    with pytest.raises(GroundTruthError, match="record 0: record is not UTF-8 JSON"):
        gt.load_nb101_tfrecord(path)
    with pytest.raises(GroundTruthError, match="NAS-Bench-101 file not found"):
        gt.load_nb101_tfrecord(tmp_path / "absent.tfrecord")


# -- the shared JSON files -------------------------------------------------------------


def test_records_json_loader():
    path = require_shared("nb101", "nb101_records.json")
    raw = json.loads(path.read_text())
    table = gt.load_nb101_records_json(path)
    assert len(table) == 52 and table.label == ""
    assert table.columns == ("cifar10_valid_108", "cifar10_test_108", "cifar10_train_108",
                             "cifar10_valid_54", "cifar10_test_54", "params")
    first = raw[0]
    assert table.by_arch(first["nb101_hash"], "cifar10_valid_108") == pytest.approx(100 * np.mean(first["val_acc_108"]))
    assert table.by_arch(first["nb101_hash"], "cifar10_test_54") == pytest.approx(100 * np.mean(first["test_acc_54"]))
    assert table.by_arch(first["nb101_hash"], "params") == first["trainable_parameters"]
    valid = table.values("cifar10_valid_108")
    assert 80 < valid.mean() < 95 and valid.max() <= 100  # percent, not fractions


def test_sample_json_loader():
    path = require_shared("nb101", "nb101_sample.json")
    raw = json.loads(path.read_text())
    table = gt.load_nb101(path)
    assert len(table) == 292 and table.label == gt.SAMPLE_LABEL == "single training repeat"
    assert table.columns == ("cifar10_valid_108", "params")
    np.testing.assert_allclose(table.values("cifar10_valid_108"), [r["val_accuracy"] for r in raw])
    assert table.values("params")[0] == round(raw[0]["params_M"] * 1e6)
    cell = space.make_cell(raw[5]["matrix"], raw[5]["ops"])
    assert table.by_arch(cell, "cifar10_valid_108") == raw[5]["val_accuracy"]


def _json(tmp_path, items, name="x.json"):
    path = tmp_path / name
    path.write_text(json.dumps(items))
    return path


def record_item(cell=CELLS[0], **changes):
    item = dict(nb101_hash=cell.hash, matrix=[list(r) for r in cell.matrix], ops=list(cell.ops),
                trainable_parameters=1000, val_acc_108=[0.9, 0.8, 0.85], test_acc_108=[0.9, 0.9, 0.9])
    item.update(changes)
    return item


def test_json_loaders_on_small_files(tmp_path):
    table = gt.load_nb101(_json(tmp_path, [record_item(), record_item(CELLS[1])]))
    assert table.columns == ("cifar10_valid_108", "cifar10_test_108", "params")  # no 54-epoch keys given
    assert table.values("cifar10_valid_108")[0] == pytest.approx(85.0)

    cases = [
        ([record_item(nb101_hash="f" * 32)], "entry 0: the cell's graph hash is"),
        ([record_item(val_acc_108=[0.9, 91.0])], r"entry 0, val_acc_108: 91.0 is not an accuracy fraction"),
        ([record_item(val_acc_108=[])], "val_acc_108 must be a non-empty list"),
        ([record_item(ops=["input", "conv7x7", "maxpool3x3", "output"])], "entry 0: invalid cell: unknown op"),
        ([record_item(), record_item()], "hash .* appears in entries \\[0, 1\\]"),
        ([record_item(trainable_parameters=-3)], "trainable_parameters -3 is not a positive integer"),
    ]
    for items, message in cases:
        with pytest.raises(GroundTruthError, match=message):
            gt.load_nb101_records_json(_json(tmp_path, items))

    missing = record_item()
    del missing["test_acc_108"]
    with pytest.raises(GroundTruthError, match="entry 0: missing key\\(s\\) test_acc_108"):
        gt.load_nb101_records_json(_json(tmp_path, [missing]))

    sample = dict(nb101_hash=CELLS[2].hash, matrix=[[0, 1], [0, 0]], ops=["input", "output"],
                  val_accuracy=0.9, params_M=0.5)
    assert gt.load_nb101(_json(tmp_path, [sample])).values("params")[0] == 500_000
    with pytest.raises(GroundTruthError, match=r"val_accuracy 190.0 is not an accuracy in percent"):
        gt.load_nb101_sample_json(_json(tmp_path, [dict(sample, val_accuracy=190.0)]))
    with pytest.raises(GroundTruthError, match="neither the records format"):
        gt.load_nb101(_json(tmp_path, [{"matrix": [[0, 1], [0, 0]]}]))
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(GroundTruthError, match="cannot parse as JSON"):
        gt.load_nb101(tmp_path / "broken.json")


def test_read_cells_json(tmp_path):
    cells = gt.read_cells_json(_json(tmp_path, [record_item(CELLS[1]), record_item(CELLS[0])]))
    assert cells == [CELLS[1], CELLS[0]]
    with pytest.raises(GroundTruthError, match="entry 0: invalid cell: no path"):
        gt.read_cells_json(_json(tmp_path, [{"matrix": [[0, 0], [0, 0]], "ops": ["input", "output"]}]))
