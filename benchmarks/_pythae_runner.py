"""Runs pythae's default VAE inside the benchmark's own environment (pythae is not a genlab dependency).

    PY -m ... _pythae_runner.py IN_DIR OUT_DIR SECONDS SEED
IN_DIR holds train.npy / test.npy (N, C, H, W or N, D, float32); OUT_DIR receives samples.npy and result.json.
Trains pythae's VAE with its defaults (latent_dim 10, MSE reconstruction, Adam 1e-4, batch 64) one epoch at a
time until SECONDS have passed, then samples from the prior and computes pythae's own NLL estimate.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from pythae.models import VAE, VAEConfig
from pythae.pipelines import TrainingPipeline
from pythae.samplers import NormalSampler
from pythae.trainers import BaseTrainerConfig

src, dst, seconds, seed = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(seed)
train, test = np.load(src / "train.npy"), np.load(src / "test.npy")
model = VAE(model_config=VAEConfig(input_dim=tuple(train.shape[1:])))
t0, epochs = time.perf_counter(), 0
with tempfile.TemporaryDirectory() as tmp:
    while time.perf_counter() - t0 < seconds:
        cfg = BaseTrainerConfig(output_dir=tmp, num_epochs=1, seed=seed + epochs)
        TrainingPipeline(training_config=cfg, model=model)(train_data=train, eval_data=test[:500])
        epochs += 1
fit_s = time.perf_counter() - t0
model.eval()
t0 = time.perf_counter()
samples = NormalSampler(model=model).sample(num_samples=len(test)).detach().cpu().numpy().astype(np.float32)
sample_s = time.perf_counter() - t0
with torch.no_grad():
    nll = float(model.get_nll(torch.from_numpy(test[:1000]), n_samples=100, batch_size=100))
np.save(dst / "samples.npy", samples.reshape(len(samples), *train.shape[1:]))
(dst / "result.json").write_text(
    json.dumps({"fit_s": fit_s, "sample_s": sample_s, "epochs": epochs, "nll": nll})
)
