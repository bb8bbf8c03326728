"""The search spaces (NAS-Bench-201, NAS-Bench-101, DARTS): one registered object per ``supernet.space``.

Per space, two modules: the encoding (cells, validity, sampling, closed-form
complexity: :mod:`bench.spaces.nb201`, :mod:`bench.spaces.nb101`,
:mod:`bench.spaces.darts`) and the space as a run sees it, a registered
:class:`SearchSpace` (:mod:`bench.spaces.nb201_space`,
:mod:`bench.spaces.nb101_space`, :mod:`bench.spaces.darts_space`); the
interface and the registry are :mod:`bench.spaces.base`. Code outside these
modules reaches a space through :func:`get_space` only.

Adding a space: one module that defines and registers its ``SearchSpace``
(and its encoding, or imports one), plus one import line below.
"""

from __future__ import annotations

from bench.spaces.base import (
    DEFAULT_SPACE,
    Benchmark,
    RegisteredSpaces,
    SearchSpace,
    Subnet,
    describe_spaces,
    draw_distinct,
    get_space,
    register_space,
    space_names,
)

# Every space, registered on import, in the order `supernet.space` lists them.
from bench.spaces import nb201_space  # noqa: E402,F401
from bench.spaces import nb101_space  # noqa: E402,F401
from bench.spaces import darts_space  # noqa: E402,F401

__all__ = ["DEFAULT_SPACE", "Benchmark", "RegisteredSpaces", "SearchSpace", "Subnet", "describe_spaces",
           "draw_distinct", "get_space", "register_space", "space_names"]
