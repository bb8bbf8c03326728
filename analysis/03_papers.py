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
from bench.report.render import omit_section
from bench.report.results import load_results

pd.set_option("display.max_colwidth", 200)
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## Measured beside reported
#
# Each row: a value a paper reports (listed, with its table, in docs/papers.md), next to this grid's
# mean, sd and bootstrap interval over seeds for the setting with the same heuristics, and the scale of
# this grid's runs; the papers' scale is below the table.

# %%
comparison = tables.paper_comparison(results)
if len(comparison):
    shown, references = tables.paper_comparison_for_reading(comparison)
    shown = shown.assign(metric=shown["metric"].map(figures.label)).set_index("setting")
    display(tables.printable(shown))
    display(Markdown(tables.references_markdown(references)))
    display(Markdown(f"Scale of the papers' numbers: {PAPER_SCALE}. Scale of this grid's settings:"))
    display(tables.printable(tables.scales(results).set_index("setting")))
else:
    omit_section("No setting of this grid matches a setting the papers report on NAS-Bench-201 / CIFAR-10 "
                 "(SPOS or FairNAS with the papers' momentum, schedule and CaLR values): the comparison with "
                 "the papers is omitted.")

# %% [markdown]
# ## Heuristics overview
#
# Every setting against the baseline: the paired per-seed difference in Kendall tau and sparse Kendall
# tau with its 95% bootstrap interval, and the smallest difference the seeds could have detected; then
# the config values that differ, the registered heuristics behind them and their sources.

# %%
overview = tables.heuristics_overview(results)
if len(overview):
    effects, changes, references = tables.overview_for_reading(overview)
    display(tables.printable(effects))
    display(Markdown(tables.OVERVIEW_LEGEND))
    display(Markdown("What each setting changes from the baseline, and where its heuristics come from:"))
    display(tables.printable(changes))
    if references:
        display(Markdown(tables.references_markdown(references)))
else:
    omit_section("This grid has a single setting: there is nothing to compare with the baseline, and the "
                 "heuristics overview is omitted.")
