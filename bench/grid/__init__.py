"""Grids: a YAML spec that expands into runs, a runner that executes what is missing, and a collector.

- :mod:`bench.grid.spec`: the spec format, expansion and validation, run keys;
- :mod:`bench.grid.store`: the grid directory (runs, failures, logs);
- :mod:`bench.grid.runner`: execute the runs not done yet on any
  ``concurrent.futures`` executor, with progress; ``--dry-run`` tables;
- :mod:`bench.grid.executors`: local processes (default) and Dask;
- :mod:`bench.grid.worker`: what a worker does with one run;
- :mod:`bench.grid.estimate`: rough cost estimates;
- :mod:`bench.grid.collect`: every run into one pandas table (Parquet).

Nothing here imports torch or Dask at import time.
"""

from bench.grid.collect import collect
from bench.grid.spec import Grid, GridSpec, PlannedRun, expand, load_grid, load_spec, run_key

__all__ = ["Grid", "GridSpec", "PlannedRun", "collect", "expand", "load_grid", "load_spec", "run_key"]
