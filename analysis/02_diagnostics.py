# %% [markdown]
# # Complexity bias and gradients
#
# Our operationalizations of the CaLR+MS paper's diagnostics (docs/metrics.md;
# `bench.metrics.fairness`, `bench.metrics.gradients`). CB: among the pairs the supernet orders wrongly,
# the fraction where it prefers the smaller subnet; where accuracy grows with size, noise alone gives
# CB above 0.5. CB-matched: among pairs of nearly equal true accuracy, the fraction where the smaller
# subnet scores higher (0.5 = no bias). C3: Kendall tau between complexity and convergence (supernet /
# true accuracy); negative means large subnets are under-trained.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
import pandas as pd
from IPython.display import Markdown, display

from bench.report import figures, tables
from bench.report.render import omit_section
from bench.report.results import BIAS_METRICS, GRADIENT_METRICS, load_results

pd.set_option("display.max_colwidth", 200)
results = load_results(RESULTS_DIR, recollect=False)

# %% [markdown]
# ## CB, CB-matched and C3 by setting
#
# The dotted red line marks no bias for CB-matched (0.5) and C3 (0); CB has none, since its neutral level
# is above 0.5 and depends on the pool (docs/metrics.md).

# %%
figures.show(figures.metric_by_setting(results, BIAS_METRICS),
             "No complexity-bias metrics in this grid: the section is omitted.",
             "What to look for: CB-matched above its dotted line at 0.5 and C3 below its line at 0 mean large "
             "subnets are underrated; CB is read against other settings of the grid (its neutral level depends "
             "on the pool); and settings that move towards no bias.")
bias = tables.per_setting(results, BIAS_METRICS)
display(tables.printable(bias))
display(Markdown("Mean over seeds. " + tables.legend(bias.columns)))

# %% [markdown]
# ## Gradient statistics
#
# The element-wise standard deviation of the observed tensor's gradient (`diagnostics.grad_tensor`)
# over windows of `diagnostics.grad_window` steps, per epoch, one panel per setting: on the single
# stream of steps (solid), and within each MS cluster's own stream, averaged over clusters (dashed).
# Momentum separation is meant to lower the latter.

# %%
gradient = tables.per_setting(results, GRADIENT_METRICS)
figure = figures.gradient_std_over_training(results)
if figure is None and not len(gradient):
    omit_section("No gradient statistics in this grid (diagnostics.grad_stats = false): the section is omitted.")
else:
    figures.show(figure, None, "What to look for: in MS settings, the dashed line (within clusters) below the "
                 "solid one means momentum separation gives each cluster a steadier gradient.")
    if len(gradient):
        gradient = gradient[[c for c in GRADIENT_METRICS if c in gradient.columns and not c.startswith("mgcs")]]
        display(tables.printable(gradient, digits=4))
        display(Markdown("Mean over seeds; n/a where a setting has no MS clusters. " + tables.legend(gradient.columns)))

# %% [markdown]
# ## Gradient matching
#
# Gradient-matching score matrices (cosine similarity of the shared weights' gradients with each op of
# one edge forced, GM-NAS), where a run asked for them (`diagnostics.gm_every`): last probed epoch,
# mean over seeds.

# %%
figures.show(figures.gm_heatmaps(results),
             "No GM score matrices in this grid (diagnostics.gm_every = 0): the gradient-matching section is "
             "omitted.",
             "What to look for: pairs of ops with low or negative similarity (dark cells) are the ones GM-NAS "
             "would put into different sub-supernets.")

# %% [markdown]
# ## MGCS
#
# The MGCS experiment (mean cosine between the first-layer gradients of a base subnet and subnets with
# n edges changed), where the grid has `heuristics.sampling = mgcs`.

# %%
mgcs = tables.per_setting(results, ["mgcs_A1", "mgcs_A3", "mgcs_A5"]).dropna(how="all")
if len(mgcs):
    display(tables.printable(mgcs))
    display(Markdown("Mean over seeds, settings that ran the MGCS experiment."))
else:
    omit_section("No MGCS runs in this grid (heuristics.sampling = mgcs): the MGCS section is omitted.")
