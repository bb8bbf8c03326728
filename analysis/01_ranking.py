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
import matplotlib.pyplot as plt
from IPython.display import display

from bench.report import figures, tables
from bench.report.results import RANKING_METRICS, load_results

plt.rcParams.update({"figure.dpi": 100, "font.size": 9})
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## Kendall tau by setting
#
# The baseline, the spec's first setting, is drawn in black with a dashed line at its mean.

# %%
figures.show(figures.metric_by_setting(results, ["kendall_tau", "sparse_kendall_tau"]),
             "No finished runs with ranking metrics yet.")
summary = tables.long_summary(results, RANKING_METRICS)
display(tables.readable(summary.pivot_table(index="setting", columns="metric", values="mean", sort=False).round(3)))

# %% [markdown]
# ## Ranking over training
#
# Kendall tau of the first `eval.track_pool` subnets of the pool, measured between epochs
# (`eval.track_every`); the line is the mean over seeds, the band their range.

# %%
figures.show(figures.ranking_over_epochs(results),
             "This grid did not track ranking during training (eval.track_every = 0); the training loss "
             "below is what its history holds.")
figures.show(figures.training_loss(results), "No training history in this grid.")

# %% [markdown]
# ## Supernet score against ground truth
#
# One run of the baseline and one of the setting with the best mean Kendall tau (lowest seed of each),
# each subnet coloured by the parameter count of its stand-alone network: a supernet that overrates
# small subnets shows dark points above the trend.

# %%
figures.show(figures.scores_vs_truth(results, figures.chosen_runs(results)), "No scored subnets in this grid.")
