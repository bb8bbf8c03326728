# %% [markdown]
# ## What this grid found

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
from IPython.display import Markdown, display

from bench.report import figures, summary
from bench.report.results import load_results

results = load_results(RESULTS_DIR, recollect=False)
effects = summary.paired_effects(results)
base_tau = results.runs.loc[results.runs["setting"] == results.baseline, "kendall_tau"]
display(Markdown(" ".join(summary.first_page_sentences(effects, results.baseline, baseline_values=base_tau))))

# %% [markdown]
# ### Each setting's effect on Kendall tau, paired by seed

# %%
figures.show(figures.paired_effects(effects, results.baseline, differences=figures.seed_differences(results)),
             "A grid of one setting has no effect to draw.",
             summary.FIGURE_CAPTION)
