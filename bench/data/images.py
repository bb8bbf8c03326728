"""The in-memory image dataset container shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import DataError

__all__ = ["ImageSet"]


@dataclass(frozen=True, eq=False)
class ImageSet:
    """A labelled image dataset held in memory as uint8 pixels.

    Attributes:
        images: uint8 array of shape ``(N, C, H, W)`` (channels first),
            C-contiguous. Stored as a read-only view: loaders memoize and share
            one ``ImageSet`` between callers, so an accidental in-place edit by
            one caller must not corrupt everyone else's data.
        labels: int64 array of shape ``(N,)`` with values in
            ``[0, len(classes))``, also read-only.
        classes: class names; ``classes[k]`` is the name of label ``k``.
        name: short identifier such as ``"cifar10-train"`` or ``"digits"``.

    ``eq=False`` because element-wise array comparison has no single truth
    value; two sets are the same object or they are different.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    name: str = field(default="")

    def __post_init__(self) -> None:
        """Validate shapes, dtypes and label range; normalize storage.

        Raises:
            DataError: on a wrong dtype, rank, length mismatch or a label
                outside ``[0, len(classes))``.
        """
        images, labels = self.images, self.labels
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise DataError(
                f"ImageSet {self.name!r}: images must be a uint8 array of shape (N, C, H, W); "
                f"found {_describe_array(images)}"
            )
        labels = np.asarray(labels)
        # Any integer dtype converts to int64 losslessly; floats or bools would
        # hide a bug upstream, so they are rejected instead of cast.
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.uint64:
            raise DataError(
                f"ImageSet {self.name!r}: labels must be a 1-D integer array; found {_describe_array(labels)}"
            )
        if labels.shape[0] != images.shape[0]:
            raise DataError(
                f"ImageSet {self.name!r}: {images.shape[0]} images but {labels.shape[0]} labels"
            )
        classes = tuple(str(c) for c in self.classes)
        if not classes:
            raise DataError(f"ImageSet {self.name!r}: classes must not be empty")
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DataError(
                f"ImageSet {self.name!r}: labels must lie in [0, {len(classes)}) for {len(classes)} classes; "
                f"found range [{int(labels.min())}, {int(labels.max())}]"
            )
        # A fresh view lets us clear the writeable flag without touching the
        # caller's own array object.
        images_view = np.ascontiguousarray(images).view()
        images_view.flags.writeable = False
        labels_view = np.ascontiguousarray(labels, dtype=np.int64).view()
        labels_view.flags.writeable = False
        # Frozen dataclass: object.__setattr__ is the sanctioned way to
        # normalize fields during __post_init__.
        object.__setattr__(self, "images", images_view)
        object.__setattr__(self, "labels", labels_view)
        object.__setattr__(self, "classes", classes)

    def __len__(self) -> int:
        """Number of images."""
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """Per-image shape ``(C, H, W)``."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> "ImageSet":
        """Return a new ImageSet with the images at ``indices``, in that order.

        Args:
            indices: integer indices (any order, repeats allowed) or a boolean
                mask of length ``len(self)``.
            name: name of the result; defaults to this set's name.

        Raises:
            DataError: if an index is out of range or the indices are not integers.
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise DataError(
                    f"subset of {self.name!r}: boolean mask must have shape ({len(self)},); found {idx.shape}"
                )
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)  # np.asarray([]) is float64; an empty subset is still valid
        elif idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise DataError(
                f"subset of {self.name!r}: indices must be a 1-D integer array; found {_describe_array(idx)}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise DataError(
                f"subset of {self.name!r}: indices must lie in [0, {len(self)}); "
                f"found range [{int(idx.min())}, {int(idx.max())}]"
            )
        return ImageSet(
            images=self.images[idx],
            labels=self.labels[idx],
            classes=self.classes,
            name=self.name if name is None else name,
        )

    def downsampled(self, side: int) -> "ImageSet":
        """The images averaged over square blocks down to ``side`` x ``side`` pixels (rounded to uint8).

        Block means are the "box" downsampling of Chrabaszcz et al., "A
        Downsampled Variant of ImageNet as an Alternative to the CIFAR
        datasets" (2017), which also built downsampled CIFAR-style sets.

        Raises:
            DataError: if the images are not square or ``side`` does not divide their side.
        """
        _, height, width = self.shape
        if height != width or side < 1 or height % side:
            allowed = [d for d in range(1, height + 1) if height % d == 0] if height == width else []
            raise DataError(f"{self.name!r}: cannot downsample {height}x{width} images to {side}x{side}; "
                            f"the side must divide {height} (allowed: {allowed})")
        if side == height:
            return self
        f = height // side
        # Summed as integers: a float copy of every pixel would cost 4x the images' memory.
        sums = self.images.reshape(len(self), self.shape[0], side, f, side, f).sum(axis=(3, 5), dtype=np.uint32)
        pixels = np.rint(sums / (f * f)).astype(np.uint8)
        return ImageSet(images=pixels, labels=self.labels, classes=self.classes, name=f"{self.name}-{side}px")

    def class_counts(self) -> dict[str, int]:
        """Number of images per class name (every class listed, even if zero)."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def __repr__(self) -> str:
        """Short summary; the default repr would print the whole pixel array."""
        return (
            f"ImageSet(name={self.name!r}, n={len(self)}, shape={self.shape}, "
            f"classes={len(self.classes)})"
        )


def _describe_array(a: object) -> str:
    """Summarize an object's type/dtype/shape for an error message."""
    if isinstance(a, np.ndarray):
        return f"dtype {a.dtype}, shape {a.shape}"
    return f"{type(a).__name__}"
