"""Reading and writing TFRecord files without TensorFlow.

The framing (TensorFlow's ``tensorflow/core/lib/io/record_writer.cc``; the
format of NAS-Bench-101's ``nasbench_only108.tfrecord``) is, per record::

    uint64 length          little-endian
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

with ``masked_crc(x) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32)
over CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). CRC-32C is
computed here in pure Python (about 10 MB/s), or with the ``crc32c`` or
``google-crc32c`` package when one is installed (neither is a dependency).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bench.groundtruth.table import GroundTruthError

_MASK_DELTA = 0xA282EAD8
_POLY = 0x82F63B78  # CRC-32C, reflected


class TFRecordError(GroundTruthError):
    """A TFRecord file is truncated or fails its checksums."""


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def _crc32c_python(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c() -> Callable[[bytes], int] | None:
    try:
        import crc32c  # type: ignore[import-not-found]

        return crc32c.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c  # type: ignore[import-not-found]

        return google_crc32c.value
    except ImportError:
        return None


_crc_impl: Callable[[bytes], int] | None = None


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``crc32c(b"123456789") == 0xE3069283``."""
    global _crc_impl
    if _crc_impl is None:
        _crc_impl = _fast_crc32c() or _crc32c_python
    return _crc_impl(bytes(data))


def masked_crc32c(data: bytes) -> int:
    """The masked CRC TFRecord stores (TensorFlow's ``crc32c::Mask``)."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def iter_records(path, verify_data: bool = True) -> Iterator[bytes]:
    """Yield the payload of every record of a TFRecord file, in order.

    The length field's CRC is always checked; the payload's when
    ``verify_data`` (the slow part in pure Python). A truncated file or a
    CRC mismatch raises :class:`TFRecordError` naming the record and byte
    offset.
    """
    path = Path(path)
    with path.open("rb") as handle:
        number = 0
        while True:
            offset = handle.tell()
            header = handle.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(f"{path}: record {number} at byte {offset}: truncated header "
                                    f"({len(header)} of 12 bytes)")
            length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
            if masked_crc32c(length_bytes) != length_crc:
                raise TFRecordError(f"{path}: record {number} at byte {offset}: length CRC mismatch "
                                    "(not a TFRecord file, or corrupted)")
            (length,) = struct.unpack("<Q", length_bytes)
            body = handle.read(length + 4)
            if len(body) < length + 4:
                raise TFRecordError(f"{path}: record {number} at byte {offset}: truncated data "
                                    f"({len(body)} of {length + 4} bytes)")
            data = body[:length]
            if verify_data and masked_crc32c(data) != struct.unpack("<I", body[length:])[0]:
                raise TFRecordError(f"{path}: record {number} at byte {offset}: data CRC mismatch (corrupted)")
            yield data
            number += 1


def frame_record(data: bytes) -> bytes:
    """One record in TFRecord framing."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc32c(length)) + data
            + struct.pack("<I", masked_crc32c(data)))


def write_records(path, records: Iterable[bytes]) -> Path:
    """Write ``records`` as a TFRecord file (uncompressed); for tests and small exports."""
    path = Path(path)
    with path.open("wb") as handle:
        for data in records:
            handle.write(frame_record(bytes(data)))
    return path
