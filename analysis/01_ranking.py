# %% [markdown]
# # Ranking quality
#
# How well the supernet's scores rank subnets against their stand-alone ground truth, per setting of
# the grid. Kendall tau counts concordant pairs over all scored subnets; sparse Kendall tau first bins
# the ground truth (bin width `eval.sparse_threshold`, 1 accuracy point by default), so that pairs
# whose true accuracies are practically equal do not count (Yu et al. 2020). Each point is the mean over
# seeds with a 95% percentile-bootstrap interval; grey dots are single seeds. With 3 seeds or fewer such
# an interval is narrow by construction (about 75% actual coverage at 3): read it as a screening flag.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
import pandas as pd
from IPython.display import Markdown, display

from bench.report import figures, tables
from bench.report.render import omit_section
from bench.report.results import RANKING_METRICS, load_results

pd.set_option("display.max_colwidth", 200)
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## Kendall tau by setting
#
# The baseline, the spec's first setting, is drawn in black with a dashed line at its mean.

# %%
figures.show(figures.metric_by_setting(results, ["kendall_tau", "sparse_kendall_tau"]),
             "No finished runs with ranking metrics yet: the section is omitted.",
             "What to look for: settings whose interval lies clear of the baseline's dashed line, and whether the "
             "seeds (grey dots) agree.")
display(tables.printable(tables.per_setting(results, RANKING_METRICS)))
display(Markdown("Mean over seeds per setting."))

# %% [markdown]
# ## Ranking over training
#
# Kendall tau of the first `eval.track_pool` subnets of the pool, measured between epochs
# (`eval.track_every`); the line is the mean over seeds, the band their range.

# %%
figures.show(figures.ranking_over_epochs(results),
             "This grid did not track ranking during training (eval.track_every = 0): the section on ranking over "
             "training is omitted.",
             "What to look for: whether the ranking still improves at the last epochs (more training would help) "
             "and whether settings separate by more than their bands.")

# %% [markdown]
# ## Training loss
#
# Training loss of the sampled subnets per epoch, mean over seeds per setting.

# %%
figures.show(figures.training_loss(results), "No training history in this grid: the training-loss section is "
             "omitted.",
             "What to look for: a setting whose loss stays higher trains its subnets less (CaLR lowers the rate of "
             "large subnets); a lower loss does not by itself mean a better ranking.")

# %% [markdown]
# ## Top of the ranking
#
# What a search that keeps the subnets the supernet scores highest would get, per setting: mean over
# seeds with its 95% bootstrap interval.

# %%
top = tables.top_of_ranking(results)
if len(top):
    for part in tables.split_columns(top, 4):
        display(part)
    display(Markdown(tables.top_of_ranking_caption(top)))
else:
    omit_section("The runs of this grid report neither top-k precision nor BR@K / WR@K: the top-of-the-ranking "
                 "section is omitted.")

# %% [markdown]
# ## Supernet score against ground truth
#
# Each subnet coloured by the parameter count of its stand-alone network: a supernet that overrates
# small subnets shows dark points above the trend.

# %%
keys = figures.chosen_runs(results)
display(Markdown(figures.chosen_runs_text(results, keys)))
figures.show(figures.scores_vs_truth(results, keys), "No scored subnets in this grid: the section is omitted.",
             "What to look for: how tightly the points follow a rising line (a good ranking), and whether colours "
             "sort vertically at equal ground truth (a complexity bias).")
