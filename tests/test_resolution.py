"""Downsampled images (data.resolution): block means, the crop padding that scales with them, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from bench.config import load_config
from bench.data import DataError, ImageSet
from bench.run import config_hash
from bench.tasks import crop_padding, get_task, load_split


def test_block_means_of_hand_made_images():
    images = np.arange(2 * 3 * 4 * 4, dtype=np.uint8).reshape(2, 3, 4, 4)
    half = ImageSet(images, np.array([0, 1]), ("a", "b"), "x").downsampled(2)
    assert half.shape == (3, 2, 2) and half.images.dtype == np.uint8
    # the top-left 2x2 block of image 0, channel 0 holds 0, 1, 4, 5: mean 2.5, rounded half to even
    assert half.images[0, 0].tolist() == [[2, 4], [10, 12]]
    assert half.images[1, 2, 1, 1] == np.rint(images[1, 2, 2:, 2:].mean())
    assert half.labels.tolist() == [0, 1] and half.name == "x-2px"


def test_a_side_that_does_not_divide_is_refused():
    images = ImageSet(np.zeros((1, 1, 8, 8), np.uint8), np.array([0]), ("a",), "digits")
    with pytest.raises(DataError, match=r"cannot downsample 8x8 images to 3x3.*allowed: \[1, 2, 4, 8\]"):
        images.downsampled(3)
    assert images.downsampled(8) is images


def test_digits_at_half_resolution_and_the_padding_it_implies():
    config = load_config(None, ["data.resolution=4"])
    train, held_out = load_split(get_task("digits"), config.data, None)
    assert train.shape == held_out.shape == (1, 4, 4)
    cifar = get_task("cifar10")
    assert crop_padding(cifar, load_config(None, ["data.resolution=16"]).data) == 2
    assert crop_padding(cifar, load_config(None, ["data.resolution=16", "data.pad=3"]).data) == 3
    assert crop_padding(cifar, load_config(None, []).data) == 4


def test_the_default_keeps_existing_run_keys():
    """At null, data.resolution is left out of the run key: runs recorded before it existed keep their keys."""
    plain = load_config(None, [])
    assert config_hash(plain) == "6050614a8f7f"  # the embedded default's key before data.resolution existed
    assert config_hash(load_config(None, ["data.resolution=4"])) != config_hash(plain)
