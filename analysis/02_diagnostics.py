# %% [markdown]
# # Complexity bias and gradients
#
# Our operationalizations of the CaLR+MS paper's diagnostics (REFERENCE.md, "Diagnostics";
# `bench.metrics.fairness`, `bench.metrics.gradients`). CB: among the pairs the supernet orders wrongly,
# the fraction where it prefers the smaller subnet; where accuracy grows with size, noise alone gives
# CB above 0.5. CB-matched: among pairs of nearly equal true accuracy, the fraction where the smaller
# subnet scores higher (0.5 = no bias). C3: Kendall tau between complexity and convergence (supernet /
# true accuracy); negative means large subnets are under-trained.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from bench.report import figures, tables
from bench.report.results import BIAS_METRICS, GRADIENT_METRICS, load_results

plt.rcParams.update({"figure.dpi": 100, "font.size": 9})
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## CB, CB-matched and C3 by setting
#
# The dotted red line marks no bias (0.5 for CB and CB-matched, 0 for C3).

# %%
figures.show(figures.metric_by_setting(results, BIAS_METRICS), "No complexity-bias metrics in this grid.")
bias = tables.long_summary(results, BIAS_METRICS)
display(tables.readable(bias.pivot_table(index="setting", columns="metric", values="mean", sort=False).round(3)))

# %% [markdown]
# ## Gradient statistics
#
# The element-wise standard deviation of the observed tensor's gradient (`diagnostics.grad_tensor`)
# over windows of `diagnostics.grad_window` steps, per epoch: on the single stream of steps (solid), and
# within each MS cluster's own stream, averaged over clusters (dashed). Momentum separation is meant to
# lower the latter.

# %%
figures.show(figures.gradient_std_over_training(results), "No gradient statistics in this grid "
             "(diagnostics.grad_stats = false).")
gradient = tables.long_summary(results, GRADIENT_METRICS)
if len(gradient):
    table = gradient.pivot_table(index="setting", columns="metric", values="mean", sort=False)
    display(tables.readable(table.round(4)))

# %% [markdown]
# ## Gradient matching and MGCS
#
# Gradient-matching score matrices (cosine similarity of the shared weights' gradients with each op of
# one edge forced, GM-NAS) where a run asked for them (`diagnostics.gm_every`), and the MGCS experiment
# (mean cosine between the first-layer gradients of a base subnet and subnets with n edges changed)
# where the grid has `heuristics.sampling = mgcs`.

# %%
figures.show(figures.gm_heatmaps(results), "No GM score matrices in this grid (diagnostics.gm_every = 0).")
mgcs = tables.long_summary(results, ["mgcs_A1", "mgcs_A3", "mgcs_A5"])
if len(mgcs):
    display(tables.readable(mgcs.set_index("setting").round(3)))
else:
    display(Markdown("*No MGCS runs in this grid.*"))
