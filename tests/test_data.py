"""Tests for bench.data: loaders, caching, splits, statistics and device batching.

Every test builds its own tiny fixtures in ``tmp_path`` (fake CIFAR pickles, a
small image folder, a tar of it); only the ``shared_data`` test reads the real
CIFAR-10 copy, and it skips when that copy is absent.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import bench.data as data
from bench.data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    DataError,
    DeviceBatches,
    ImageSet,
    channel_stats,
    check_data_dir,
    epoch_seed,
    iterate_in_order,
    load_cifar10,
    load_digits,
    resolve_data_dir,
    split_indices,
)
from bench.data import cifar10 as cifar10_module

from conftest import SHARED_DATA  # $BENCH_DATA_DIR, else the development copy beside the project


@pytest.fixture(autouse=True)
def _fresh_memo():
    """Each test starts and ends with an empty in-process memo, so cached
    arrays from one test's fixtures never leak into another."""
    data.clear_memo()
    yield
    data.clear_memo()


# --------------------------------------------------------------------------
# fixture builders


def random_images(n: int, seed: int = 0, hw: int = 32) -> np.ndarray:
    """Random uint8 (n, 3, hw, hw) images: distinct content makes mix-ups visible."""
    return np.random.default_rng(seed).integers(0, 256, (n, 3, hw, hw), dtype=np.uint8)


def write_pickles(root: Path, per_batch: int = 3, test_n: int = 4, protocol: int = 2) -> dict:
    """Write a fake ``cifar-10-batches-py`` (5 train batches + test batch + meta).

    Returns the expected concatenated arrays per split.
    """
    pdir = root / "cifar-10-batches-py"
    pdir.mkdir(parents=True)
    expected = {}
    rng = np.random.default_rng(1)
    train_imgs, train_labels = [], []
    for i in range(1, 6):
        imgs = random_images(per_batch, seed=i)
        labels = rng.integers(0, 10, per_batch).tolist()
        batch = {b"batch_label": b"fake", b"labels": labels, b"data": imgs.reshape(per_batch, 3072),
                 b"filenames": [b"x.png"] * per_batch}
        (pdir / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=protocol))
        train_imgs.append(imgs)
        train_labels += labels
    expected["train"] = (np.concatenate(train_imgs), np.array(train_labels))
    imgs = random_images(test_n, seed=99)
    labels = rng.integers(0, 10, test_n).tolist()
    (pdir / "test_batch").write_bytes(
        pickle.dumps({b"labels": labels, b"data": imgs.reshape(test_n, 3072)}, protocol=protocol))
    expected["test"] = (imgs, np.array(labels))
    meta = {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_cases_per_batch": per_batch}
    (pdir / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return expected


def encode(img_chw: np.ndarray, fmt: str) -> bytes:
    """Encode one CHW uint8 image as PNG or JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img_chw.transpose(1, 2, 0))).save(buf, fmt)
    return buf.getvalue()


def write_folder(root: Path, split: str = "train", per_class: int = 2, fmt: str = "PNG",
                 classes=CIFAR10_CLASSES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``root/<split>/<class>/NNNN.<ext>`` images; return the expected
    (images, labels) in loader order (class, then file name)."""
    ext = "png" if fmt == "PNG" else "jpg"
    imgs = random_images(len(classes) * per_class, seed=seed)
    labels = []
    k = 0
    for label, cls in enumerate(sorted(classes)):
        cdir = root / split / cls
        cdir.mkdir(parents=True)
        for j in range(per_class):
            (cdir / f"{j:04d}.{ext}").write_bytes(encode(imgs[k], fmt))
            labels.append(label)
            k += 1
    return imgs, np.array(labels)


def tar_folder(src_root: Path, split: str, tar_path: Path, prefix: str = "", shuffle: bool = True) -> None:
    """Tar ``src_root/<split>`` (members in shuffled order, to test sorting)."""
    files = sorted(p for p in (src_root / split).rglob("*") if p.is_file())
    if shuffle:
        files = [files[i] for i in np.random.default_rng(0).permutation(len(files))]
    with tarfile.open(tar_path, "w") as tf:
        tf.add(src_root / split, arcname=prefix + split, recursive=False)
        for f in files:
            tf.add(f, arcname=prefix + str(f.relative_to(src_root)))


# --------------------------------------------------------------------------
# ImageSet


def test_imageset_validates_and_subsets():
    imgs = random_images(5)
    ds = ImageSet(imgs, np.arange(5, dtype=np.int32) % 2, ("a", "b"), "toy")
    assert len(ds) == 5 and ds.labels.dtype == np.int64 and ds.images.flags.c_contiguous
    assert not ds.images.flags.writeable, "shared (memoized) arrays must be read-only"
    assert imgs.flags.writeable, "the caller's own array must not be modified"
    sub = ds.subset([4, 0], name="toy-sub")
    assert sub.name == "toy-sub" and np.array_equal(sub.images, imgs[[4, 0]])
    assert np.array_equal(sub.labels, [0, 0])
    assert len(ds.subset([])) == 0
    with pytest.raises(DataError, match="uint8"):
        ImageSet(imgs.astype(np.float32), np.zeros(5), ("a",), "bad")
    with pytest.raises(DataError, match="5 images but 4 labels"):
        ImageSet(imgs, np.zeros(4, dtype=np.int64), ("a",), "bad")
    with pytest.raises(DataError, match=r"\[0, 2\)"):
        ImageSet(imgs, np.full(5, 2), ("a", "b"), "bad")
    with pytest.raises(DataError, match="indices must lie in"):
        ds.subset([5])


# --------------------------------------------------------------------------
# CIFAR-10: official pickles


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickles_round_trip(tmp_path, protocol):
    expected = write_pickles(tmp_path / "cifar10", protocol=protocol)
    for split in ("train", "test"):
        ds = load_cifar10(tmp_path / "cifar10", split, cache_dir=tmp_path / "cache", check_counts=False)
        assert ds.name == f"cifar10-{split}" and ds.classes == CIFAR10_CLASSES
        assert ds.images.shape == (len(expected[split][1]), 3, 32, 32) and ds.images.dtype == np.uint8
        assert np.array_equal(ds.images, expected[split][0])
        assert np.array_equal(ds.labels, expected[split][1])


def test_pickles_written_by_numpy1_load(tmp_path):
    """The official files reference numpy.core.multiarray (numpy 1.x paths)."""
    expected = write_pickles(tmp_path / "cifar10")
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    raw = batch.read_bytes()
    assert b"numpy._core.multiarray" in raw  # protocol 2 names globals as text
    batch.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning from importing numpy.core
        ds = load_cifar10(tmp_path / "cifar10", "test", cache_dir=tmp_path / "cache", check_counts=False)
    assert np.array_equal(ds.images, expected["test"][0])


def test_pickles_preferred_over_other_layouts(tmp_path):
    root = tmp_path / "cifar10"
    write_pickles(root)
    write_folder(root, "train")
    assert data.find_cifar10_source(root, "train").layout == "pickles"
    (root / "cifar-10-batches-py").rename(tmp_path / "moved")
    assert data.find_cifar10_source(root, "train").layout == "folder"
    tar_folder(root, "train", root / "train.tar")
    assert data.find_cifar10_source(root, "train").layout == "folder"
    (root / "train").rename(tmp_path / "moved_folder")
    assert data.find_cifar10_source(root, "train").layout == "tar"


def test_pickles_official_count_enforced(tmp_path):
    write_pickles(tmp_path / "cifar10", per_batch=2)
    with pytest.raises(DataError) as exc:
        load_cifar10(tmp_path / "cifar10", "train", cache_dir=tmp_path / "cache")
    msg = str(exc.value)
    assert "exactly 50000" in msg and "found 10" in msg and "data_batch_1" in msg


def test_pickles_missing_and_corrupt_files(tmp_path):
    root = tmp_path / "cifar10"
    write_pickles(root)
    pdir = root / "cifar-10-batches-py"
    (pdir / "data_batch_3").write_bytes(b"\x80\x02garbage, not a pickle")
    with pytest.raises(DataError, match="data_batch_3.*corrupt"):
        load_cifar10(root, "train", cache_dir=tmp_path / "cache", check_counts=False)
    (pdir / "data_batch_5").unlink()
    with pytest.raises(DataError, match="missing data_batch_5"):
        load_cifar10(root, "train", cache_dir=tmp_path / "cache", check_counts=False)
    # The test split does not need the train batches.
    assert len(load_cifar10(root, "test", cache_dir=tmp_path / "cache", check_counts=False)) == 4


def test_pickles_refuse_arbitrary_code(tmp_path):
    root = tmp_path / "cifar10"
    write_pickles(root)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (root / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataError, match=r"test_batch.*refusing to load global"):
        load_cifar10(root, "test", cache_dir=tmp_path / "cache", check_counts=False)


def test_pickles_wrong_shape(tmp_path):
    root = tmp_path / "cifar10"
    write_pickles(root)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=r"test_batch.*\(n, 3072\).*\(2, 100\)"):
        load_cifar10(root, "test", cache_dir=tmp_path / "cache", check_counts=False)


# --------------------------------------------------------------------------
# CIFAR-10: image folders and tars


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_folder_and_tar_give_same_arrays(tmp_path, fmt):
    src = tmp_path / "folder_root"
    imgs, labels = write_folder(src, "train", per_class=2, fmt=fmt)
    tar_root = tmp_path / "tar_root"
    tar_root.mkdir()
    tar_folder(src, "train", tar_root / "train.tar", prefix="./")
    a = load_cifar10(src, "train", cache_dir=tmp_path / "cache")
    b = load_cifar10(tar_root, "train", cache_dir=tmp_path / "cache")
    assert a.classes == b.classes == CIFAR10_CLASSES
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.labels, labels)
    if fmt == "PNG":  # lossless: exact pixels, in (class, file name) order
        assert np.array_equal(a.images, imgs)
    assert a.images.flags.c_contiguous


def test_folder_ignores_junk_files(tmp_path):
    imgs, _ = write_folder(tmp_path, "test", per_class=1)
    (tmp_path / "test" / "cat" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "test" / "cat" / "notes.txt").write_text("hello")
    (tmp_path / "test" / "README").write_text("not a class")
    ds = load_cifar10(tmp_path, "test", cache_dir=tmp_path / "cache")
    assert np.array_equal(ds.images, imgs)


def test_missing_class_reports_counts(tmp_path):
    write_folder(tmp_path, "train", per_class=2, classes=CIFAR10_CLASSES[:-1])
    with pytest.raises(DataError) as exc:
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")
    msg = str(exc.value)
    assert "expected 10 classes" in msg and "found 9" in msg
    assert "airplane=2" in msg and "truck" in msg
    # An empty class folder counts as missing too.
    (tmp_path / "train" / "truck").mkdir()
    with pytest.raises(DataError, match=r"truck=0.*without images: truck"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_undecodable_image_named(tmp_path):
    write_folder(tmp_path, "train", per_class=1)
    bad = tmp_path / "train" / "dog" / "0000.png"
    bad.write_bytes(b"definitely not a png")
    with pytest.raises(DataError, match=r"cannot decode image .*dog/0000\.png"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_truncated_jpeg_named(tmp_path):
    write_folder(tmp_path, "train", per_class=1, fmt="JPEG")
    bad = tmp_path / "train" / "cat" / "0000.jpg"
    bad.write_bytes(bad.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"cat/0000\.jpg.*truncated"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_wrong_size_or_mode_image(tmp_path):
    write_folder(tmp_path, "train", per_class=1)
    (tmp_path / "train" / "cat" / "0000.png").write_bytes(encode(random_images(1, hw=16)[0], "PNG"))
    with pytest.raises(DataError, match=r"cat/0000\.png must be 32x32 RGB; found 16x16 RGB"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")
    gray = io.BytesIO()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(gray, "PNG")
    (tmp_path / "train" / "cat" / "0000.png").write_bytes(gray.getvalue())
    with pytest.raises(DataError, match=r"found 32x32 L"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_truncated_tar(tmp_path):
    src = tmp_path / "src"
    write_folder(src, "test", per_class=1, fmt="JPEG")
    full = tmp_path / "full.tar"
    tar_folder(src, "test", full)
    raw = full.read_bytes()
    root = tmp_path / "cifar10"
    root.mkdir()
    # Cut in the middle of the archive, and cut exactly at a 512-byte header
    # boundary (which tarfile alone silently accepts as the end).
    with tarfile.open(full) as tf:
        last = tf.getmembers()[-1]
    for cut in (len(raw) // 2 + 77, last.offset):
        (root / "test.tar").write_bytes(raw[:cut])
        with pytest.raises(DataError, match=r"test\.tar.*truncated"):
            load_cifar10(root, "test", cache_dir=tmp_path / "cache")


def test_corrupt_member_in_tar_named(tmp_path):
    src = tmp_path / "src"
    write_folder(src, "train", per_class=1)
    (src / "train" / "frog" / "0000.png").write_bytes(b"\x89PNG broken")
    tar_folder(src, "train", tmp_path / "train.tar")
    with pytest.raises(DataError, match=r"train\.tar:train/frog/0000\.png"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_tar_without_split_folder(tmp_path):
    src = tmp_path / "src"
    write_folder(src, "test", per_class=1)
    tar_folder(src, "test", tmp_path / "train.tar")  # wrong top folder inside
    with pytest.raises(DataError, match=r"no images under train/<class>/.*top-level entries are: test/"):
        load_cifar10(tmp_path, "train", cache_dir=tmp_path / "cache")


def test_missing_dataset_lists_layouts_and_contents(tmp_path):
    root = tmp_path / "cifar10"
    root.mkdir()
    (root / "something_else.zip").write_bytes(b"")
    with pytest.raises(DataError) as exc:
        load_cifar10(root, "train", cache_dir=tmp_path / "cache")
    msg = str(exc.value)
    for needle in ("cifar-10-batches-py", "data_batch_1..5", "train/<class>", "train.tar",
                   "contains: something_else.zip"):
        assert needle in msg, needle
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere", "test", cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match="split must be one of"):
        load_cifar10(root, "valid", cache_dir=tmp_path / "cache")


# --------------------------------------------------------------------------
# caching


def test_cache_hit_does_not_decode(tmp_path, monkeypatch):
    root = tmp_path / "cifar10"
    write_folder(root, "train", per_class=1)
    cache_dir = tmp_path / "cache"
    first = load_cifar10(root, "train", cache_dir=cache_dir)
    assert load_cifar10(root, "train", cache_dir=cache_dir) is first  # in-process memo
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz", "atomic write must leave no temp files"

    def boom(source):
        raise AssertionError("decoded despite a valid cache")

    monkeypatch.setattr(cifar10_module, "decode_source", boom)
    data.clear_memo()
    second = load_cifar10(root, "train", cache_dir=cache_dir)
    assert second is not first
    assert np.array_equal(second.images, first.images) and np.array_equal(second.labels, first.labels)
    assert second.classes == first.classes and second.name == "cifar10-train"


def test_changed_source_redecodes(tmp_path, monkeypatch):
    root = tmp_path / "cifar10"
    write_folder(root, "train", per_class=1)
    cache_dir = tmp_path / "cache"
    load_cifar10(root, "train", cache_dir=cache_dir)
    calls = []
    real = cifar10_module.decode_source
    monkeypatch.setattr(cifar10_module, "decode_source", lambda s: calls.append(s) or real(s))
    img = root / "train" / "cat" / "0000.png"
    new_pixels = random_images(1, seed=123)[0]
    img.write_bytes(encode(new_pixels, "PNG"))
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # mtime surely changes
    ds = load_cifar10(root, "train", cache_dir=cache_dir)
    assert len(calls) == 1
    assert np.array_equal(ds.images[CIFAR10_CLASSES.index("cat")], new_pixels)


def test_corrupt_cache_file_is_redecoded(tmp_path):
    root = tmp_path / "cifar10"
    write_folder(root, "test", per_class=1)
    cache_dir = tmp_path / "cache"
    first = load_cifar10(root, "test", cache_dir=cache_dir)
    (cache_file,) = cache_dir.iterdir()
    cache_file.write_bytes(b"not a zip")
    data.clear_memo()
    with pytest.warns(UserWarning, match="ignoring unreadable cache file"):
        again = load_cifar10(root, "test", cache_dir=cache_dir)
    assert np.array_equal(again.images, first.images)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    root = tmp_path / "cifar10"
    write_folder(root, "test", per_class=1)
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "envcache"))
    load_cifar10(root, "test")
    assert [p.suffix for p in (tmp_path / "envcache").iterdir()] == [".npz"]


# --------------------------------------------------------------------------
# digits


def test_digits():
    from sklearn.datasets import load_digits as sk_digits

    ds = load_digits()
    raw = sk_digits()
    assert ds.name == "digits" and ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == np.uint8
    assert ds.classes == tuple(str(d) for d in range(10))
    assert ds.images.min() == 0 and ds.images.max() == 255
    expected = np.array([round(v * 255 / 16) for v in raw.images.ravel()], dtype=np.uint8)
    assert np.array_equal(ds.images.ravel(), expected)
    assert np.array_equal(ds.labels, raw.target)


# --------------------------------------------------------------------------
# splits


def test_split_defaults_and_properties():
    train, valid = split_indices(11, None, None, seed=3)
    assert len(train) == len(valid) == 5 and train.dtype == np.int64
    assert not set(train) & set(valid)
    assert set(train) | set(valid) <= set(range(11))
    again = split_indices(11, None, None, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(valid, again[1])
    other = split_indices(11, None, None, seed=4)
    assert not np.array_equal(train, other[0])


def test_split_one_size_given_and_prefix_property():
    train, valid = split_indices(100, 30, None, seed=0)
    assert (len(train), len(valid)) == (30, 70)
    train, valid = split_indices(100, None, 25, seed=0)
    assert (len(train), len(valid)) == (75, 25)
    small, _ = split_indices(100, 10, 20, seed=7)
    large, _ = split_indices(100, 50, 20, seed=7)
    assert np.array_equal(small, large[:10])


@pytest.mark.parametrize("train_size,valid_size,needle", [
    (60, 50, "train_size=60 + valid_size=50 = 110 > n=100"),
    (0, 10, "train_size=0"),
    (100, None, "valid_size=0"),
])
def test_split_errors(train_size, valid_size, needle):
    with pytest.raises(DataError) as exc:
        split_indices(100, train_size, valid_size, seed=0)
    assert needle in str(exc.value)


# --------------------------------------------------------------------------
# statistics


def test_channel_stats():
    imgs = random_images(7)
    mean, std = channel_stats(imgs)
    ref = imgs.astype(np.float64) / 255.0
    assert np.allclose(mean, ref.mean(axis=(0, 2, 3)))
    assert np.allclose(std, ref.std(axis=(0, 2, 3)))
    assert len(CIFAR10_MEAN) == len(CIFAR10_STD) == 3
    with pytest.raises(DataError, match="uint8"):
        channel_stats(imgs.astype(np.float32))


# --------------------------------------------------------------------------
# device batches


def toy_set(n: int = 20, hw: int = 8, seed: int = 0) -> ImageSet:
    """Small random RGB set with labels equal to the image index mod 10."""
    return ImageSet(random_images(n, seed=seed, hw=hw), np.arange(n) % 10, CIFAR10_CLASSES, "toy")


def normalize_np(img_u8: np.ndarray, mean, std) -> np.ndarray:
    """Reference normalization of a CHW uint8 image."""
    m = np.asarray(mean, np.float32)[:, None, None]
    s = np.asarray(std, np.float32)[:, None, None]
    return (img_u8.astype(np.float32) / 255.0 - m) / s


def test_batches_shapes_dtypes_and_plain_normalization():
    ds = toy_set()
    batches = DeviceBatches(ds, 8, augment=False, shuffle=False)
    mean, std = channel_stats(ds.images)
    assert batches.mean == pytest.approx(mean) and batches.std == pytest.approx(std)
    (x, y), _ = list(batches.epoch(0))
    assert x.shape == (8, 3, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert np.allclose(x.numpy(), np.stack([normalize_np(im, mean, std) for im in ds.images[:8]]), atol=1e-5)
    assert y.tolist() == ds.labels[:8].tolist()


def test_crop_is_a_true_shift_of_the_padded_image():
    """Each augmented image equals some (offset, flip) crop of the zero-padded
    original, and augmentation really moves/flips some images."""
    ds = toy_set(n=16, hw=8)
    pad = 3
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    batches = DeviceBatches(ds, 16, pad=pad, mean=mean, std=std, shuffle=False, seed=5)
    ((x, y),) = list(batches.epoch(2))
    used = set()
    for k in range(16):
        padded = np.pad(ds.images[k], ((0, 0), (pad, pad), (pad, pad)))  # black padding in pixel space
        matches = []
        for oy in range(2 * pad + 1):
            for ox in range(2 * pad + 1):
                crop = padded[:, oy:oy + 8, ox:ox + 8]
                for flipped in (False, True):
                    cand = normalize_np(crop[:, :, ::-1] if flipped else crop, mean, std)
                    if np.allclose(x[k].numpy(), cand, atol=1e-5):
                        matches.append((oy, ox, flipped))
        assert len(matches) == 1, f"image {k}: {matches}"
        used.add(matches[0])
    assert any(m[:2] != (pad, pad) for m in used), "no image was shifted"
    assert {m[2] for m in used} == {False, True}, "flips should occur both ways in 16 images"


def test_flip_only():
    ds = toy_set(n=32)
    batches = DeviceBatches(ds, 32, pad=0, flip=True, shuffle=False, mean=(0, 0, 0), std=(1, 1, 1))
    ((x, _),) = list(batches.epoch(0))
    plain = torch.from_numpy(ds.images.astype(np.float32) / 255.0)
    same = torch.isclose(x, plain).flatten(1).all(1)
    flipped = torch.isclose(x, plain.flip(-1)).flatten(1).all(1)
    assert bool((same | flipped).all())
    assert bool(flipped.any()) and bool(same.any())
    no_flip = DeviceBatches(ds, 32, pad=0, flip=False, shuffle=False, mean=(0, 0, 0), std=(1, 1, 1))
    ((x2, _),) = list(no_flip.epoch(0))
    assert torch.allclose(x2, plain)


def test_determinism_per_seed_and_epoch():
    ds = toy_set(n=40)

    def run(seed, epoch, warmup=0):
        b = DeviceBatches(ds, 8, seed=seed)
        for e in range(warmup):  # an "uninterrupted" run consumes earlier epochs first
            list(b.epoch(e))
        return list(b.epoch(epoch))

    a, resumed = run(1, 3, warmup=3), run(1, 3)
    assert len(a) == 5
    for (xa, ya), (xb, yb) in zip(a, resumed):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    other_epoch = run(1, 4)
    assert not all(torch.equal(xa, xb) for (xa, _), (xb, _) in zip(a, other_epoch))
    other_seed = run(2, 3)
    assert not all(torch.equal(xa, xb) for (xa, _), (xb, _) in zip(a, other_seed))
    assert epoch_seed(1, 3) != epoch_seed(1, 4) != epoch_seed(2, 3)


def test_len_drop_last_and_coverage():
    ds = ImageSet(random_images(10, hw=4), np.arange(10) % 10, CIFAR10_CLASSES, "ten")
    dropped = DeviceBatches(ds, 4, augment=False)
    assert len(dropped) == 2 and [len(y) for _, y in dropped.epoch(0)] == [4, 4]
    kept = DeviceBatches(ds, 4, augment=True, drop_last=False)
    sizes, seen = [], []
    for x, y in kept.epoch(1):
        sizes.append(len(y))
        seen += y.tolist()
    assert len(kept) == 3 and sizes == [4, 4, 2]
    assert sorted(seen) == list(range(10)), "each image exactly once per epoch"
    assert seen != list(range(10)), "shuffle should change the order"
    in_order = [y for _, y in iterate_in_order(ds, 3)]
    assert [len(y) for y in in_order] == [3, 3, 3, 1]
    assert torch.cat(in_order).tolist() == list(range(10))
    with pytest.raises(DataError, match="fewer than batch_size=16"):
        DeviceBatches(ds, 16)


def test_batches_on_cuda_match_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the CPU path is what runs here")
    ds = toy_set(n=24)
    cpu = list(DeviceBatches(ds, 8, seed=3).epoch(1))
    gpu = list(DeviceBatches(ds, 8, seed=3, device="cuda").epoch(1))
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert xg.is_cuda and torch.allclose(xc, xg.cpu()) and torch.equal(yc, yg.cpu())


# --------------------------------------------------------------------------
# data directory layout


def test_resolve_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    assert resolve_data_dir(None) is None
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_check_data_dir(tmp_path):
    with pytest.raises(DataError, match="BENCH_DATA_DIR"):
        check_data_dir(None)
    ddir = tmp_path / "data"
    ddir.mkdir()
    (ddir / "stray.txt").write_text("x")
    with pytest.raises(DataError) as exc:
        check_data_dir(ddir)
    msg = str(exc.value)
    assert "cifar10/ is missing" in msg and "nb201_hp200.csv" in msg and "contains: stray.txt" in msg
    src = tmp_path / "src"
    write_folder(src, "train", per_class=1)
    write_folder(src, "test", per_class=1)
    (ddir / "cifar10").mkdir()
    tar_folder(src, "train", ddir / "cifar10" / "train.tar")
    with pytest.raises(DataError) as exc:
        check_data_dir(ddir, need_nb201=False)
    assert "no 'test' split" in str(exc.value) and "train.tar" in str(exc.value)
    tar_folder(src, "test", ddir / "cifar10" / "test.tar")
    check_data_dir(ddir, need_nb201=False)
    (ddir / "nb201").mkdir()
    (ddir / "nb201" / "nb201_hp200.csv").write_text("index,arch_str\n")
    check_data_dir(ddir)
    check_data_dir(tmp_path / "src", need_cifar10=False, need_nb201=False)


# --------------------------------------------------------------------------
# the real CIFAR-10 copy (skipped when absent)


@pytest.mark.shared_data
def test_real_cifar10_test_tar(tmp_path):
    root = SHARED_DATA / "cifar10"
    if not (root / "train.tar").is_file():
        pytest.skip(f"shared CIFAR-10 copy not found at {root / 'train.tar'}")
    ds = load_cifar10(root, "test", cache_dir=tmp_path)
    assert ds.images.shape == (10_000, 3, 32, 32) and ds.images.dtype == np.uint8
    assert ds.classes == CIFAR10_CLASSES
    assert ds.class_counts() == {c: 1000 for c in CIFAR10_CLASSES}
    mean, _ = channel_stats(ds.images)
    assert np.allclose(mean, CIFAR10_MEAN, atol=0.02)  # JPEG re-encoding shifts stats slightly
    data.clear_memo()
    start = time.perf_counter()
    again = load_cifar10(root, "test", cache_dir=tmp_path)
    elapsed = time.perf_counter() - start
    assert np.array_equal(again.images, ds.images)
    assert elapsed < 1.0, f"cached load took {elapsed:.2f}s"
    check_data_dir(SHARED_DATA)
