"""Tasks: a dataset together with the ground truth its subnets are ranked against.

A task knows where its images come from, how its training set is split into
a supernet-training part and a held-out part, which ground-truth table and
column it uses by default, and the stand-alone network setting that the
ground truth (and so every complexity figure) refers to.

- ``cifar10``: CIFAR-10 from the data directory, ranked against
  NAS-Bench-201 (``cifar10-valid_valid`` by default: trained on one half of
  the training set, accuracy on the other half; Dong & Yang, ICLR 2020).
- ``digits``: the embedded default. scikit-learn's 8x8 digits, ranked against
  a small table this project computed by training subnets stand-alone
  (``bench groundtruth build``; see ``bench/groundtruth/embedded/``).

What a space is ranked against on a task is the space's own
(:meth:`bench.spaces.SearchSpace.load_benchmark`): NAS-Bench-201 uses the
task's table (``Task.load_table``); NAS-Bench-101 and DARTS have their
tables on CIFAR-10 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.config import DataConfig
from bench.data import DataError, ImageSet, load_cifar10, load_digits, split_indices
from bench.data.layout import check_data_dir, resolve_data_dir
from bench.groundtruth import GroundTruthTable
from bench.groundtruth.embedded import DIGITS_SETTING, load_digits_table
from bench.groundtruth.nb201 import DEFAULT_COLUMN as NB201_DEFAULT_COLUMN
from bench.groundtruth.nb201 import default_table_path, load_nb201_csv
from bench.seeds import pick_eval_images


@dataclass(frozen=True)
class StandaloneSetting:
    """The stand-alone network the ground truth was measured on (what complexity refers to)."""

    C: int
    N: int
    num_classes: int
    input_size: int
    in_channels: int

    def as_kwargs(self) -> dict:
        return dict(C=self.C, N=self.N, num_classes=self.num_classes, input_size=self.input_size,
                    in_channels=self.in_channels)


@dataclass(frozen=True)
class Task:
    dataset: str
    standalone: StandaloneSetting
    default_column: str
    needs_data_dir: bool
    default_pad: int  # random-crop padding: 4 pixels on 32x32 CIFAR, 1 on 8x8 digits
    default_flip: bool  # horizontal flips: on for CIFAR, off for digits (a mirrored digit is another glyph)
    # The task's own table, which NAS-Bench-201 runs rank against (data_dir -> table): NAS-Bench-201 on
    # CIFAR-10, the embedded table on digits. The other spaces load theirs (bench.spaces).
    load_table: Callable[[Path | None], GroundTruthTable]

    @property
    def num_classes(self) -> int:
        return self.standalone.num_classes

    @property
    def in_channels(self) -> int:
        return self.standalone.in_channels


TASKS = {
    "cifar10": Task("cifar10", StandaloneSetting(C=16, N=5, num_classes=10, input_size=32, in_channels=3),
                    NB201_DEFAULT_COLUMN, needs_data_dir=True, default_pad=4,
                    default_flip=True, load_table=lambda data_dir: load_nb201_csv(default_table_path(data_dir))),
    "digits": Task("digits", StandaloneSetting(**DIGITS_SETTING["standalone"]),
                   DIGITS_SETTING["column"], needs_data_dir=False, default_pad=1,
                   default_flip=False, load_table=lambda data_dir: load_digits_table()),
}


def get_task(dataset: str) -> Task:
    if dataset not in TASKS:
        raise ValueError(f"unknown dataset {dataset!r}; allowed: {', '.join(TASKS)}")
    return TASKS[dataset]


def require_data_dir(task: Task, data_dir: str | Path | None) -> Path | None:
    """The data directory for ``task``, checked before anything trains (None for embedded tasks)."""
    if not task.needs_data_dir:
        return None
    resolved = resolve_data_dir(data_dir)
    if resolved is None:
        raise DataError(f"dataset {task.dataset!r} needs a data directory: pass --data-dir DIR or set "
                        "BENCH_DATA_DIR (layout: DIR/cifar10/ with cifar-10-batches-py/, image folders or "
                        "train.tar/test.tar, and DIR/nb201/nb201_hp200.csv)")
    check_data_dir(resolved)
    return resolved


def crop_padding(task: Task, config: DataConfig) -> int:
    """The random crop's padding: ``data.pad``, else the task's default scaled to ``data.resolution``
    (4 pixels on 32x32 CIFAR-10 is 2 on 16x16)."""
    if config.pad is not None:
        return config.pad
    if config.resolution is None:
        return task.default_pad
    return max(1, round(task.default_pad * config.resolution / task.standalone.input_size))


def load_split(task: Task, config: DataConfig, data_dir: Path | None,
               eval_images_seed: int | None = None) -> tuple[ImageSet, ImageSet]:
    """(supernet-training part, held-out part) of the task's training set, split with ``config.split_seed``;
    the held-out part keeps ``config.eval_images`` of its images, the first or a draw with ``eval_images_seed``
    (:func:`bench.seeds.pick_eval_images`)."""
    full = load_digits() if task.dataset == "digits" else load_cifar10(data_dir / "cifar10", "train")
    train_size, valid_size = config.train_size, config.valid_size
    if train_size is None and valid_size is None:
        train_size = valid_size = len(full) // 2
    train_idx, valid_idx = split_indices(len(full), train_size, valid_size, config.split_seed)
    if config.portion < 1.0:
        # A prefix of the seeded permutation: a smaller portion is a subset of a larger one.
        train_idx = train_idx[: max(1, round(config.portion * len(train_idx)))]
    if config.eval_images is not None:
        if config.eval_images > len(valid_idx):
            raise DataError(f"data.eval_images = {config.eval_images} exceeds the held-out part "
                            f"({len(valid_idx)} images)")
        valid_idx = pick_eval_images(valid_idx, config.eval_images, eval_images_seed)
    train, held_out = full.subset(train_idx), full.subset(valid_idx)
    if config.resolution is not None:
        train, held_out = train.downsampled(config.resolution), held_out.downsampled(config.resolution)
    return train, held_out

