"""Reports of a grid's results: tables, figures, and the notebooks that `bench report` renders.

- :mod:`bench.report.results`: a grid directory's collected tables and what is missing from it;
- :mod:`bench.report.tables`: per-setting summaries, the heuristics overview, the papers' numbers beside ours,
  and tables as a printed page shows them;
- :mod:`bench.report.summary`: the first page, the grid's answer in sentences generated from its results;
- the power of each comparison (:mod:`bench.metrics.power`) in the overview, the summary and
  :func:`bench.report.tables.power_analysis` (``bench power``);
- :mod:`bench.report.paper_numbers`: the values the papers report, and the settings they belong to;
- :mod:`bench.report.reproduction`: the reproduction page (``bench reproduce``), every claim of the papers beside
  our measurement with a verdict;
- :mod:`bench.report.figures`: the figures (matplotlib and seaborn), each a function of those tables;
- :mod:`bench.report.render`: executes the notebooks of ``analysis/`` and exports HTML and PDF.

The notebooks hold no analysis logic of their own: they call these functions,
so what a report shows is tested here.
"""
