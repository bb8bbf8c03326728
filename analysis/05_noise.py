# %% [markdown]
# # Where the noise comes from, and a lower-noise estimator
#
# Our analysis, beside the papers' protocol. A run's randomness has five streams (`bench.seeds`): weight
# initialization, batch order and augmentation, subnet sampling, the evaluation pool and the held-out images.
# A noise grid varies one training stream at a time around a common seed; `scripts/scoring_streams.py`
# rescores each supernet with other pools and image draws (`scoring_streams.csv` in the grid directory). A
# stream with a large share is one to hold equal between the settings you compare (common random numbers) or
# to average over.

# %% tags=["parameters"]
RESULTS_DIR = "results/quick"

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from bench.report import noise, tables
from bench.report.render import omit_section
from bench.report.results import load_results

results = load_results(RESULTS_DIR, recollect=False)
streams_file = Path(RESULTS_DIR) / noise.STREAMS_FILE
rescored = pd.read_csv(streams_file) if streams_file.is_file() else None
streams = noise.has_streams(results.runs)
estimators = not noise.estimator_table(results.runs).empty
if not streams and not estimators:
    omit_section("No seed streams varied apart and no averaged estimator in this grid: the noise section is "
                 "omitted.")

# %% [markdown]
# ## The share of each stream
#
# Kendall tau's sd when one stream alone varies (training streams: the common run and the runs that set the
# stream apart; scoring streams: pooled over every rescored supernet), with a chi-square 95% interval, and
# its share of the summed variance (assuming the streams add).

# %%
if streams:
    table = noise.noise_table(results.runs, rescored)
    display(tables.printable(table.drop(columns=["variance"]), digits=3,
                             labels={"sd_low": "sd 95% low", "sd_high": "sd 95% high"}))
    if rescored is None:
        display(Markdown(f"No `{noise.STREAMS_FILE}` in the grid directory: the scoring streams are left out "
                         "(`scripts/scoring_streams.py` writes it)."))

# %% [markdown]
# ## The papers' estimator beside the epoch-averaged one
#
# The papers score each subnet once, with the final weights. Our addition (`eval.average_last`) ranks by
# each subnet's mean score over the last k epochs. Same runs, paired: the difference is averaged minus
# final, with a bootstrap 95% interval; the sds are over the grid's runs (different settings and seeds).

# %%
if estimators:
    display(tables.printable(noise.estimator_table(results.runs), digits=3,
                             labels={"ci_low": "95% low", "ci_high": "95% high"}))
if streams and estimators:
    display(Markdown("Per training stream, the sd of each estimator:"))
    display(tables.printable(noise.estimator_noise(results.runs), digits=3))
