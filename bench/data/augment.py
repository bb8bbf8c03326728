"""Device-resident batching with vectorized CIFAR-style augmentation.

:class:`DeviceBatches` copies a dataset's uint8 images to the device once and
builds every batch there: gather, random crop with padding, horizontal flip
and normalization are a handful of batched tensor ops, with no per-image
Python loop and no host sync (``.item()``) in the loop. This matters because
supernet training on small images is otherwise bound by data loading.

Reproducibility contract: all randomness of epoch ``e`` (order, crop offsets,
flips) is drawn up front from a CPU ``torch.Generator`` seeded with
:func:`epoch_seed` ``(seed, e)`` alone. A run resumed at an epoch boundary
therefore sees exactly the batches of an uninterrupted run without saving
any RNG state, and CPU and CUDA runs see the same batches (the draws happen
on the CPU and are then moved to the device).

Padding semantics match torchvision's ``RandomCrop(32, padding=4)`` applied
before ``Normalize`` (as in NAS-Bench-201's pipeline): the uint8 image is
padded with black (pixel value 0), then normalized, so padded pixels equal
``-mean/std`` per channel. Working on uint8 until the last step also moves
4x fewer bytes than augmenting float tensors.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

import torch

from .errors import DataError
from .images import ImageSet
from .stats import channel_stats

__all__ = ["DeviceBatches", "iterate_in_order", "epoch_seed"]


def epoch_seed(seed: int, epoch: int) -> int:
    """Generator seed for one epoch: a function of ``(seed, epoch)`` only.

    The prime multiplier keeps (seed, epoch) pairs from colliding for any
    realistic number of epochs; the modulus keeps the value inside the range
    ``torch.Generator.manual_seed`` accepts.
    """
    return (int(seed) * 1_000_003 + int(epoch)) % (2**63)


class DeviceBatches:
    """Holds an ImageSet's images on a torch device as uint8 and yields augmented, normalized float batches.

    Args:
        images: the dataset.
        batch_size: images per batch.
        device: torch device for the stored images and the yielded batches.
        augment: random crop (with ``pad``) and horizontal flip (if ``flip``);
            False only normalizes.
        pad: padding in pixels for the random crop (0 disables cropping).
        flip: random horizontal flip with probability 0.5 per image.
        mean, std: per-channel normalization in [0, 1] units; default to
            :func:`channel_stats` of ``images``. Pass the training set's
            statistics when iterating held-out data.
        shuffle: a new random order every epoch; False keeps dataset order.
        drop_last: drop the final partial batch (True) or yield it smaller.
        seed: base seed; see :func:`epoch_seed`.

    Raises:
        DataError: on an empty dataset, bad sizes, mismatched mean/std, or
            ``drop_last`` with fewer images than one batch (which would
            silently yield nothing).
    """

    def __init__(
        self,
        images: ImageSet,
        batch_size: int,
        device: str | torch.device = "cpu",
        augment: bool = True,
        pad: int = 4,
        flip: bool = True,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
    ) -> None:
        if not isinstance(images, ImageSet):
            raise DataError(f"DeviceBatches needs an ImageSet; got {type(images).__name__}")
        n = len(images)
        if n == 0:
            raise DataError(f"DeviceBatches: dataset {images.name!r} is empty")
        if int(batch_size) < 1 or int(pad) < 0:
            raise DataError(f"DeviceBatches: need batch_size >= 1 and pad >= 0; got batch_size={batch_size}, pad={pad}")
        if drop_last and n < batch_size:
            raise DataError(
                f"DeviceBatches: dataset {images.name!r} has {n} images, fewer than batch_size={batch_size}; "
                "with drop_last=True no batch would be produced"
            )
        self.name = images.name
        self.num_images = n
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.augment = bool(augment)
        self.pad = int(pad)
        self.flip = bool(flip)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)

        channels, height, width = images.shape
        if mean is None or std is None:
            # Computed only when needed: a full pass over the pixels.
            stats_mean, stats_std = channel_stats(images.images)
            mean = stats_mean if mean is None else mean
            std = stats_std if std is None else std
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        if len(self.mean) != channels or len(self.std) != channels or min(self.std) <= 0:
            raise DataError(
                f"DeviceBatches: mean/std must have {channels} entries with std > 0; got mean={self.mean}, std={self.std}"
            )

        # On the CPU the tensors share the ImageSet's memory instead of
        # duplicating it (150 MB for CIFAR-10); on an accelerator .to() copies
        # once. torch warns that the arrays are read-only: that is fine, since
        # nothing here ever writes to them (all ops below are out of place).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self._x = torch.from_numpy(images.images).to(self.device)
            self._y = torch.from_numpy(images.labels).to(self.device)
        # normalize(p) = (p/255 - mean)/std = p * scale + shift, folded into one FMA-able pair.
        mean_t = torch.tensor(self.mean, dtype=torch.float32).view(1, channels, 1, 1)
        std_t = torch.tensor(self.std, dtype=torch.float32).view(1, channels, 1, 1)
        self._scale = (1.0 / (255.0 * std_t)).to(self.device)
        self._shift = (-mean_t / std_t).to(self.device)
        self._channels = channels
        self._ar_h = torch.arange(height, device=self.device).view(1, height)
        self._ar_w = torch.arange(width, device=self.device).view(1, width)

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return self.num_images // self.batch_size
        return -(-self.num_images // self.batch_size)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield the batches of epoch ``epoch`` as ``(x, y)`` on the device.

        ``x`` is float32 ``(B, C, H, W)``, normalized (and augmented if
        enabled); ``y`` is int64 ``(B,)``. Identical for identical
        ``(seed, epoch)`` and settings, whatever happened before.
        """
        n = self.num_images
        gen = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        # Fixed draw order (order, offsets, flips), and flips are drawn even
        # when flip=False, so turning flipping off keeps the same order and
        # crop offsets for an otherwise identical run.
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        if self.augment:
            offsets = torch.randint(0, 2 * self.pad + 1, (n, 2), generator=gen).to(self.device)
            flips = (torch.rand(n, generator=gen) < 0.5).to(self.device)
            if not self.flip:
                flips = torch.zeros_like(flips)
        for b in range(len(self)):
            sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
            idx = order[sl]
            if self.augment:
                x = self._augmented(idx, offsets[sl], flips[sl])
            else:
                x = self._x[idx]
            yield x.float().mul_(self._scale).add_(self._shift), self._y[idx]

    def _augmented(self, idx: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        """Pad with black, then crop and flip every image with one ``gather``.

        Output pixel (i, j) of the crop at offset (oy, ox) is padded pixel
        (oy + i, ox + j); a flip reverses the column indices, so crop and flip
        together are a single per-image index map over the padded plane.
        (This measured about 2x faster on CPU than 4-D advanced indexing into
        the unpadded images, and 3x faster than a separate torch.where flip.)
        """
        height, width = self._ar_h.shape[1], self._ar_w.shape[1]
        batch, channels = idx.shape[0], self._channels
        padded = torch.nn.functional.pad(self._x[idx], (self.pad,) * 4)  # uint8 zeros = black
        rows = offsets[:, :1] + self._ar_h  # (B, H) rows of the padded plane
        cols = offsets[:, 1:] + self._ar_w  # (B, W)
        cols = torch.where(flips[:, None], cols.flip(1), cols)
        flat = rows[:, :, None] * (width + 2 * self.pad) + cols[:, None, :]  # (B, H, W)
        flat = flat.view(batch, 1, height * width).expand(batch, channels, height * width)
        out = torch.gather(padded.view(batch, channels, -1), 2, flat)
        return out.view(batch, channels, height, width)


def iterate_in_order(
    images: ImageSet,
    batch_size: int,
    device: str | torch.device = "cpu",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Evaluation batches: every image once, in dataset order, normalized, not augmented.

    Equivalent to ``DeviceBatches(images, batch_size, device, augment=False,
    shuffle=False, drop_last=False, mean=mean, std=std).epoch(0)``. Pass the
    training set's ``mean``/``std`` for held-out data.
    """
    return DeviceBatches(
        images, batch_size, device, augment=False, mean=mean, std=std, shuffle=False, drop_last=False
    ).epoch(0)
