"""Runs an SDV synthesizer inside the benchmark's own environment (SDV is not a genlab dependency).

    benchmarks/.sdv-venv/bin/python benchmarks/_sdv_runner.py TRAIN_CSV MODEL SECONDS N SEED OUT_DIR
MODEL is gaussian_copula, ctgan or tvae, each with SDV's defaults except the epochs of CTGAN/TVAE: fits of
1 and 3 epochs time an epoch and the fixed overhead, then the model is fitted afresh with as many epochs as fill SECONDS (at least 1),
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
data = pd.read_csv(train_csv)
metadata = Metadata.detect_from_dataframes({"data": data})
classes = {"gaussian_copula": GaussianCopulaSynthesizer, "ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer}
epochs = None
t0 = time.perf_counter()
if name == "gaussian_copula":
    model = classes[name](metadata)
    model.fit({"data": data})
else:
    times = {}
    for e in (1, 3):  # per-epoch time and fixed overhead (fitting the transformers) from two probe fits
        t0 = time.perf_counter()
        classes[name](metadata, epochs=e).fit({"data": data})
        times[e] = time.perf_counter() - t0
    per_epoch = max((times[3] - times[1]) / 2, 1e-3)
    epochs = max(1, int((seconds - max(times[1] - per_epoch, 0.0)) / per_epoch))
    t0 = time.perf_counter()
    model = classes[name](metadata, epochs=epochs)
    model.fit({"data": data})
fit_s = time.perf_counter() - t0
t0 = time.perf_counter()
samples = model.sample(num_rows=n)
samples = samples["data"] if isinstance(samples, dict) else samples  # SDV 2 speaks in dicts of tables
sample_s = time.perf_counter() - t0
out.mkdir(parents=True, exist_ok=True)
samples.to_csv(out / "samples.csv", index=False)
(out / "result.json").write_text(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "epochs": epochs}))
