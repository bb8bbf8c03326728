"""bench: a benchmark and analysis suite for weight-sharing NAS supernet training heuristics."""

__version__ = "0.1.0"
