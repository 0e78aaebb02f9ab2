"""Runs an SDV synthesizer inside the benchmark's own environment (SDV is not a genlab dependency).

    benchmarks/.sdv-venv/bin/python benchmarks/_sdv_runner.py TRAIN_CSV MODEL SECONDS N SEED OUT_DIR
MODEL is gaussian_copula, ctgan or tvae, each with SDV's defaults except the epochs of CTGAN/TVAE: probe
fits (1, 2, 4, ... epochs) time an epoch apart from the fixed cost of a fit, then the model is fitted
afresh with as many epochs as fill SECONDS (at least 1),
so every family gets the same wall-clock budget. OUT_DIR receives samples.csv (N rows) and result.json.
"""

import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

train_csv, name, seconds, n, seed, out = (
    sys.argv[1],
    sys.argv[2],
    float(sys.argv[3]),
    int(sys.argv[4]),
    int(sys.argv[5]),
    Path(sys.argv[6]),
)
torch.manual_seed(seed)
torch.set_num_threads(1)  # as genlab's side of the benchmark
data = pd.read_csv(train_csv)
metadata = Metadata.detect_from_dataframes({"data": data})
classes = {"gaussian_copula": GaussianCopulaSynthesizer, "ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer}
epochs = None
t0 = time.perf_counter()
if name == "gaussian_copula":
    model = classes[name](metadata)
    model.fit({"data": data})
else:

    def timed(e: int) -> float:
        t0 = time.perf_counter()
        classes[name](metadata, epochs=e).fit({"data": data})
        return time.perf_counter() - t0

    # the cost of an epoch beside the fixed cost of a fit (fitting the transformers): double the epochs
    # until a fit takes clearly longer than a one-epoch fit (or a fifth of the budget)
    t1, e = timed(1), 2
    te = timed(e)
    while te < max(2 * t1, 0.2 * seconds) and te < seconds:
        e *= 2
        te = timed(e)
    per_epoch = max((te - t1) / (e - 1), 1e-3)
    epochs = max(1, int((seconds - max(t1 - per_epoch, 0.0)) / per_epoch))
    for _ in range(
        2
    ):  # on a shared machine the probes mislead: refit once with the epochs the first fit implies
        t0 = time.perf_counter()
        model = classes[name](metadata, epochs=epochs)
        model.fit({"data": data})
        took = time.perf_counter() - t0
        if abs(took - seconds) < 0.25 * seconds:
            break
        epochs = max(1, int(epochs * seconds / took))
fit_s = time.perf_counter() - t0
t0 = time.perf_counter()
samples = model.sample(num_rows=n)
samples = samples["data"] if isinstance(samples, dict) else samples  # SDV 2 speaks in dicts of tables
sample_s = time.perf_counter() - t0
out.mkdir(parents=True, exist_ok=True)
samples.to_csv(out / "samples.csv", index=False)
(out / "result.json").write_text(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "epochs": epochs}))
