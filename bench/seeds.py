"""The seed streams of a run, each settable on its own (``seeds`` config section).

A run's randomness comes from five independent streams: the supernet's
weight initialization, the data (batch order, augmentation, drop-path
masks), the subnets each step trains, the evaluation pool
(``eval.pool_seed``) and the held-out images a subnet is scored on. By
default the first three follow the run's ``seed`` and the last two are fixed
for every run (the same pool and the first ``data.eval_images`` held-out
images), which is what a comparison across settings wants. Setting one
stream apart from the others lets a study measure how much of the seed
variance each one causes, and tells a user which streams to hold equal
between the settings they compare (common random numbers).

Within a run, every random choice of an epoch is drawn from a generator of
(stream seed, epoch, purpose) alone (:func:`epoch_rng`), and each node of a
split run (:mod:`bench.nshot`) derives its own seeds from the run's and its
place in the tree (:func:`node_seed`): the basis of exact resumption.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SeedStreams:
    """The resolved seed of each stream (``eval_images`` None: the first images of the held-out part)."""

    init: int
    data: int
    sampling: int
    pool: int
    eval_images: int | None


def seed_streams(config) -> SeedStreams:
    """The streams of a ``RunConfig``: each ``seeds.<stream>`` that is null falls back to ``seed``."""
    s = config.seeds

    def or_seed(value):
        return config.seed if value is None else value

    return SeedStreams(init=or_seed(s.init), data=or_seed(s.data), sampling=or_seed(s.sampling),
                       pool=config.eval.pool_seed, eval_images=s.eval_images)


def pick_eval_images(held_out: np.ndarray, count: int, seed: int | None) -> np.ndarray:
    """``count`` indices of ``held_out``: its first ones (seed None), or a seeded uniform draw kept in order."""
    if seed is None:
        return held_out[:count]
    picks = np.sort(np.random.default_rng([seed, 11]).choice(held_out.size, size=count, replace=False))
    return held_out[picks]


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    """A generator that depends only on (seed, epoch, stream): the basis of exact resumption."""
    return np.random.default_rng([seed, epoch, stream])


def node_seed(seed: int, level: int, leaf_key: str) -> int:
    """A seed for one node of a split run that depends only on the run seed and the node's place in the tree
    (its level and its leaf's key)."""
    digest = hashlib.sha256(f"{seed}/{level}/{leaf_key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF
