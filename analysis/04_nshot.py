# %% [markdown]
# # N-shot supernets: few-shot and GM splitting
#
# For grids with `heuristics.partition` other than `one-shot` (`bench.nshot`): each subnet is scored by
# the sub-supernet (leaf) that holds it. Ranking within the space's true top cells (Spearman among a
# sample of the true top 1% and top 5%, `eval.top_sample`, as GM-NAS Table 7 reports it), what each
# setting cost over all its sub-supernets, and which edges and groups the splits chose.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
import pandas as pd
from IPython.display import Markdown, display

from bench.report import nshot, tables
from bench.report.render import omit_section
from bench.report.results import RANKING_METRICS, load_results

pd.set_option("display.max_colwidth", 120)
results = load_results(RESULTS_DIR, recollect=False)
splits = nshot.has_splits(results)
if not splits:
    omit_section("No split runs in this grid (every run is one-shot): the N-shot section is omitted.")

# %% [markdown]
# ## Ranking, overall and among the top cells
#
# Mean over seeds per setting (the baseline first). Spearman top 1% / 5% (`spearman_space_top1pct`,
# `spearman_space_top5pct` in `metrics.json`): Spearman correlation between supernet scores and ground
# truth on the sampled top cells; absent where a grid did not score them (`eval.top_sample = 0`).

# %%
if splits:
    table = tables.per_setting(results, RANKING_METRICS + nshot.TOP_METRICS)
    display(tables.printable(table, labels=nshot.SHORT_NAMES))

# %% [markdown]
# ## Compute
#
# Means per setting: leaves (sub-supernets scored), supernet-epochs and training steps over warm-ups and
# leaves, forward-backward passes of the GM probe (not training steps), seconds.

# %%
if splits:
    display(tables.printable(nshot.compute_table(results), digits=1, labels=nshot.SHORT_NAMES))

# %% [markdown]
# ## Splits
#
# Every split of every run: the edge, the groups of ops (one sub-supernet each), and the cut cost (the
# summed gradient-matching similarity across groups; empty for few-shot and random cuts). Then, per GM
# setting, how often each grouping was chosen over seeds and splits.

# %%
if splits:
    choices = nshot.split_choices(results)
    display(tables.printable(choices.set_index("setting"), labels={"cut_cost": "cut cost", "edge_rule": "edge rule",
                                                                    "cut_rule": "cut rule"}))
    for setting in dict.fromkeys(choices.loc[choices["cut_rule"] == "gm", "setting"]):
        display(Markdown(f"**{setting}**"))
        display(nshot.grouping_frequency(choices, setting).to_frame())
