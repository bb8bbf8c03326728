# %% [markdown]
# # Against the papers, and the heuristics overview
#
# The papers report their numbers at paper scale; this grid may be a proxy. The scale of both is stated
# beside each comparison: a gap between them is expected where the scale differs, and the direction of
# an effect (across settings of the same grid) is the comparable quantity.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
import pandas as pd
from IPython.display import Markdown, display

from bench.report import figures, tables
from bench.report.paper_numbers import PAPER_SCALE
from bench.report.results import load_results

pd.set_option("display.max_colwidth", 200)
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## Measured beside reported
#
# Each row: a value a paper reports (REFERENCE.md, "Numbers the papers report"), next to this grid's
# mean, sd and bootstrap interval over seeds for the setting with the same heuristics, and the scale of
# this grid's runs; the papers' scale is below the table.

# %%
comparison = tables.paper_comparison(results)
if len(comparison):
    shown = comparison.assign(metric=comparison["metric"].map(figures.label)).set_index("setting")
    display(tables.readable(shown.round(3)))
    display(Markdown(f"Scale of the papers' numbers: {PAPER_SCALE}. Scale of this grid's settings:"))
    display(tables.readable(tables.scales(results).set_index("setting")))
else:
    display(Markdown("*No setting of this grid matches a setting the papers report on NAS-Bench-201 / "
                     "CIFAR-10 (SPOS or FairNAS with the papers' momentum, schedule and CaLR values).*"))

# %% [markdown]
# ## Heuristics overview
#
# Every setting against the baseline: the config values that differ, the registered heuristics behind
# them and their sources, and the paired per-seed difference in Kendall tau and sparse Kendall tau
# with its 95% bootstrap interval. *Distinguishable* means the interval excludes zero; with 3 seeds or
# fewer, read it as a screening flag.

# %%
overview = tables.heuristics_overview(results)
if len(overview):
    effects, changes = tables.overview_for_reading(overview)
    display(tables.readable(effects))
    display(Markdown("What each setting changes from the baseline, and where its heuristics come from:"))
    display(tables.readable(changes))
else:
    display(Markdown("*This grid has a single setting: there is nothing to compare with the baseline.*"))
