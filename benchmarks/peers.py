"""genlab against what a user would otherwise write or install: same data, same budget, same evaluation.

    python benchmarks/peers.py                        # digits and Fashion-MNIST at full budgets
    python benchmarks/peers.py --scale 0.1 --fashion-n 10000

Pairs (genlab family vs peer):
  gmm  vs scikit-learn GaussianMixture (same n_components/covariance_type; its own sampler)
  kde  vs scikit-learn KernelDensity (bandwidth by GridSearchCV as in scikit-learn's digits example)
  flow vs a zuko NSF trained with a plain hand-written loop on standardised, dequantised pixels (coupling
       above 64 dimensions, as genlab's flow)
  vae  vs pythae's default VAE (installed into benchmarks/.peer-venv, its own environment, on first use)
  gan  vs a DCGAN loop: the TensorFlow tutorial's 28x28 layout (dense to 7x7x256, BatchNorm, 5x5
       up-convolutions; discriminator 64/128 convolutions with dropout 0.3), Adam 2e-4, betas (0.5, 0.999),
       batch 256 (images only)
  diffusion vs a minimal DDPM loop (minDiffusion style: T = 1000, linear betas 1e-4..0.02, eps-prediction,
       Adam 2e-4, a small time-conditioned conv net), sampled with DDIM on 50 steps (images only)
  ebm  vs a short-run EBM loop with the UvA deep-learning tutorial's settings (Swish CNN, 60 Langevin
       steps of size 10, gradient clamp 0.03, noise 0.005, replay buffer with 5% restarts, alpha 0.1,
       Adam 1e-4 betas (0.0, 0.999), batch 128), sampled by 256 Langevin steps from noise (images only)
  autoregressive vs a gated PixelCNN loop (van den Oord et al. 2016; 5 gated layers of 32 channels,
       256-way softmax, Adam 1e-3, batch 64), sampled pixel by pixel with full forward passes; this pair
       is judged on `PIXELCNN_N` samples on both sides (the plain sampler is slow)
Every sample set is judged by the same `genlab.evaluate`; each metric is reported as genlab / peer.
Every peer loop runs on the same training images for the same seconds as genlab's fit (genlab at its
defaults, which size the network for that budget).
Writes benchmarks/results/peers.{json,md}; the table is printed last.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import load, sample_picture  # noqa: E402

import genlab  # noqa: E402

HERE = Path(__file__).parent
PEER_VENV = HERE / ".peer-venv"
BUDGET_S = {"digits": 60.0, "fashion-mnist": 300.0, "8gaussians": 30.0, "tins": 120.0}
PIXELCNN_N = 500  # samples judged for the autoregressive pair (both sides)


# ---------------------------------------------------------------------- peers
def peer_gmm(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    from sklearn.mixture import GaussianMixture

    x = ds.train.reshape(len(ds.train), -1)
    cov = "diag" if ds.kind == "image" else "full"
    gm = GaussianMixture(10 if ds.kind == "image" else 8, covariance_type=cov, random_state=seed).fit(x)
    s, _ = gm.sample(len(ds.test))
    return s.reshape(len(s), *ds.shape).astype(np.float32), gm.score_samples(
        ds.test.reshape(len(ds.test), -1)
    )


def peer_kde(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    # scikit-learn's "Kernel Density Estimation" digits example: PCA, then GridSearchCV over bandwidths
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    x = ds.train.reshape(len(ds.train), -1)
    pca = PCA(n_components=32 if ds.kind == "image" else x.shape[1], whiten=False).fit(x)
    z = pca.transform(x)
    grid = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1, 1, 20)}).fit(z[:2000])
    kde = grid.best_estimator_
    s = pca.inverse_transform(kde.sample(len(ds.test), random_state=seed))
    return s.reshape(len(s), *ds.shape).astype(
        np.float32
    ), None  # a density in PCA space only: no data-space NLL


def peer_zuko(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    import torch
    import zuko

    torch.manual_seed(seed)
    levels = 17 if ds.name == "digits" else 256
    x = torch.from_numpy(ds.train.reshape(len(ds.train), -1))
    image = ds.kind == "image"
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-3)
    # above 64 dimensions a coupling NSF (passes=2), as genlab's flow uses: zuko's default fully
    # autoregressive inverse takes one network pass per dimension to sample (784 on Fashion-MNIST)
    passes = None if x.shape[1] <= 64 else 2
    flow = zuko.flows.NSF(features=x.shape[1], transforms=3, hidden_features=(256, 256), passes=passes)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        idx = torch.randint(0, len(x), (256,))
        b = x[idx] + (torch.rand_like(x[idx]) / levels if image else 0)
        loss = -flow().log_prob((b - mu) / sd).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        s = flow().sample((len(ds.test),)) * sd + mu
        t = torch.from_numpy(ds.test.reshape(len(ds.test), -1))
        t = t + (torch.rand_like(t) / levels if image else 0)
        lp = flow().log_prob((t - mu) / sd) - torch.log(sd).sum()
    return s.numpy().reshape(len(s), *ds.shape).astype(np.float32), lp.numpy()


def _peer_python() -> Path:
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        print("installing pythae into benchmarks/.peer-venv (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pythae"], check=True)
    return py


def peer_pythae(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    py = _peer_python()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        np.save(tmp_p / "train.npy", ds.train)
        np.save(tmp_p / "test.npy", ds.test)
        subprocess.run(
            [str(py), str(HERE / "_pythae_runner.py"), tmp, tmp, str(seconds), str(seed)], check=True
        )
        s = np.load(tmp_p / "samples.npy")
        res = json.loads((tmp_p / "result.json").read_text())
    peer_pythae.last = res  # type: ignore[attr-defined]
    # pythae's NLL is one number for the test set (its own estimator): repeat it per point for the table
    return s, np.full(min(1000, len(ds.test)), -res["nll"])


# ---------------------------------------------------------------------- plain image loops
def _images(ds: Any) -> Any:
    import torch

    return torch.from_numpy(np.asarray(ds.train, dtype=np.float32))  # (N, C, H, W) in [0, 1]


def _batch(x: Any, n: int, g: Any) -> Any:
    import torch

    return x[torch.randint(0, len(x), (n,), generator=g)]


def peer_dcgan(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The TensorFlow DCGAN tutorial, in torch; side/4 is the starting map (7 on 28x28)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = _images(ds) * 2 - 1  # tanh range
    c, h, w = ds.shape
    h0, w0 = h // 4, w // 4
    G = nn.Sequential(
        nn.Linear(100, h0 * w0 * 256, bias=False), nn.BatchNorm1d(h0 * w0 * 256), nn.LeakyReLU(0.3),
        nn.Unflatten(1, (256, h0, w0)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(64, c, 5, 2, 2, output_padding=1, bias=False), nn.Tanh(),
    )  # fmt: skip
    D = nn.Sequential(
        nn.Conv2d(c, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Flatten(), nn.LazyLinear(1),
    )  # fmt: skip
    D(x[:2])  # materialise the lazy layer
    bce = nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        real = _batch(x, 256, g)
        fake = G(torch.randn(len(real), 100, generator=g))
        d_real, d_fake = D(real), D(fake.detach())
        loss_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad(), loss_d.backward(), opt_d.step()
        d_gen = D(fake)
        loss_g = bce(d_gen, torch.ones_like(d_gen))
        opt_g.zero_grad(), loss_g.backward(), opt_g.step()
        steps += 1
    peer_dcgan.steps = steps  # type: ignore[attr-defined]
    G.eval()
    with torch.no_grad():
        s = torch.cat([G(torch.randn(500, 100, generator=g)) for _ in range(-(-len(ds.test) // 500))])
    return ((s[: len(ds.test)] + 1) / 2).clamp(0, 1).numpy(), None


def peer_ddpm(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """minDiffusion-style DDPM: eps-prediction MSE on a linear schedule, a small conv net with the time
    added to every block; sampled by deterministic DDIM on 50 of the 1000 steps."""
    import math

    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = _images(ds) * 2 - 1
    c = ds.shape[0]
    T = 1000
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, T), 0)

    class Block(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.conv, self.norm, self.t = nn.Conv2d(a, b, 3, padding=1), nn.GroupNorm(8, b), nn.Linear(64, b)

        def forward(self, h: Any, te: Any) -> Any:
            return F.silu(self.norm(self.conv(h) + self.t(te)[:, :, None, None]))

    class Net(nn.Module):  # down 1x, 1/2; up; skip connections (a minimal U-Net)
        def __init__(self, n: int = 32) -> None:
            super().__init__()
            self.d1, self.d2, self.m = Block(c, n), Block(n, 2 * n), Block(2 * n, 2 * n)
            self.u2, self.u1 = Block(4 * n, n), Block(2 * n, n)
            self.out = nn.Conv2d(n, c, 3, padding=1)
            self.temb = nn.Sequential(nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 64))

        def forward(self, h: Any, t: Any) -> Any:
            f = torch.exp(-math.log(1e4) * torch.arange(32) / 32)[None] * t[:, None].float()
            te = self.temb(torch.cat([f.sin(), f.cos()], 1))
            h1 = self.d1(h, te)
            h2 = self.d2(F.avg_pool2d(h1, 2), te)
            m = self.m(h2, te)
            u = self.u2(torch.cat([m, h2], 1), te)
            u = F.interpolate(u, size=h1.shape[-2:])
            return self.out(self.u1(torch.cat([u, h1], 1), te))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        x0 = _batch(x, 128, g)
        t = torch.randint(0, T, (len(x0),), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        a = abar[t].view(-1, 1, 1, 1)
        loss = F.mse_loss(net(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)
        opt.zero_grad(), loss.backward(), opt.step()
        steps += 1
    peer_ddpm.steps = steps  # type: ignore[attr-defined]
    out = []
    ts = torch.linspace(T - 1, 0, 50).long()
    with torch.no_grad():
        for k in range(0, len(ds.test), 500):
            z = torch.randn((min(500, len(ds.test) - k), *ds.shape), generator=g)
            for i, t in enumerate(ts):
                a = abar[t]
                a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
                e = net(z, t.expand(len(z)))
                x0 = ((z - (1 - a).sqrt() * e) / a.sqrt()).clamp(-1, 1)
                z = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * e
            out.append(z)
    return ((torch.cat(out) + 1) / 2).clamp(0, 1).numpy(), None


def peer_uva_ebm(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The UvA deep-learning tutorial 8 (energy-based models), its training loop and sampler."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = _images(ds) * 2 - 1
    c, h, w = ds.shape
    hid = 32
    net = nn.Sequential(
        nn.Conv2d(c, hid // 2, 5, 2, 4), nn.SiLU(), nn.Conv2d(hid // 2, hid, 3, 2, 1), nn.SiLU(),
        nn.Conv2d(hid, 2 * hid, 3, 2, 1), nn.SiLU(), nn.Conv2d(2 * hid, 2 * hid, 3, 2, 1), nn.SiLU(),
        nn.Flatten(), nn.LazyLinear(2 * hid), nn.SiLU(), nn.Linear(2 * hid, 1),
    )  # fmt: skip
    net(x[:2])  # materialise the lazy layer; net(x) is the score -E(x)

    def langevin(z: Any, steps: int) -> Any:
        for p in net.parameters():
            p.requires_grad_(False)
        z = z.clone().requires_grad_(True)
        for _ in range(steps):
            with torch.no_grad():
                z.add_(0.005 * torch.randn(z.shape, generator=g)).clamp_(-1, 1)
            (grad,) = torch.autograd.grad(-net(z).sum(), z)
            with torch.no_grad():
                z.add_(-10.0 * grad.clamp(-0.03, 0.03)).clamp_(-1, 1)
        for p in net.parameters():
            p.requires_grad_(True)
        return z.detach()

    buffer = [torch.rand((1, c, h, w), generator=g) * 2 - 1 for _ in range(128)]
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.0, 0.999))
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        real = (_batch(x, 128, g) + 0.005 * torch.randn((128, c, h, w), generator=g)).clamp(-1, 1)
        n_new = int((torch.rand(128, generator=g) < 0.05).sum())
        old = [buffer[int(i)] for i in torch.randint(0, len(buffer), (128 - n_new,), generator=g)]
        start = torch.cat([torch.rand((n_new, c, h, w), generator=g) * 2 - 1, *old])
        fake = langevin(start, 60)
        buffer = (list(fake.split(1)) + buffer)[:8192]
        s_real, s_fake = net(torch.cat([real, fake])).chunk(2)
        loss = 0.1 * (s_real**2 + s_fake**2).mean() + s_fake.mean() - s_real.mean()
        opt.zero_grad(), loss.backward(), opt.step()
        steps += 1
    peer_uva_ebm.steps = steps  # type: ignore[attr-defined]
    out = [langevin(torch.rand((min(500, len(ds.test) - k), c, h, w), generator=g) * 2 - 1, 256)
           for k in range(0, len(ds.test), 500)]  # fmt: skip
    return ((torch.cat(out) + 1) / 2).numpy(), None


def peer_pixelcnn(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A plain gated PixelCNN (vertical and horizontal stacks, masked convolutions), 256 levels."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = _images(ds)
    c, h, w = ds.shape
    L, hid, k = 256, 32, 3

    class Gated(nn.Module):
        def __init__(self, first: bool) -> None:
            super().__init__()
            cin = c if first else hid
            self.first = first
            self.v = nn.Conv2d(cin, 2 * hid, (k // 2 + 1, k), padding=(k // 2 + 1, k // 2))  # rows above
            self.h = nn.Conv2d(cin, 2 * hid, (1, k // 2 + 1), padding=(0, k // 2 + (1 if first else 0)))
            self.v2h, self.out = nn.Conv2d(2 * hid, 2 * hid, 1), nn.Conv2d(hid, hid, 1)

        def forward(self, v: Any, hh: Any) -> Any:
            vf = self.v(v)[:, :, : v.shape[2]]  # shifted down: row i sees rows < i (+ row i after layer 1)
            vf_down = F.pad(vf, (0, 0, 1, 0))[:, :, : v.shape[2]]  # strictly above for the h stack
            hf = self.h(hh)[:, :, :, : hh.shape[3]]
            gate = lambda f: torch.tanh(f[:, :hid]) * torch.sigmoid(f[:, hid:])  # noqa: E731
            hn = self.out(gate(hf + self.v2h(vf_down)))
            return gate(vf), (hn if self.first else hh + hn)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([Gated(True)] + [Gated(False) for _ in range(4)])
            self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(hid, hid, 1), nn.ReLU(), nn.Conv2d(hid, c * L, 1))

        def forward(self, img: Any) -> Any:  # (n, c, h, w) in [0, 1] -> logits (n, L, c, h, w)
            v = hh = img * 2 - 1
            for layer in self.layers:
                v, hh = layer(v, hh)
            return self.head(hh).view(len(img), L, c, *img.shape[2:])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        b = _batch(x, 64, g)
        target = (b * (L - 1)).round().long()
        loss = F.cross_entropy(net(target / (L - 1)), target)
        opt.zero_grad(), loss.backward(), opt.step()
        steps += 1
    peer_pixelcnn.steps = steps  # type: ignore[attr-defined]
    n = min(PIXELCNN_N, len(ds.test))
    s = torch.zeros(n, c, h, w)
    reach = len(net.layers) + 2  # rows above that a pixel's logits can see: run on those rows only (exact)
    with torch.no_grad():
        for i in range(h):
            lo = max(0, i - reach)
            for j in range(w):
                for ch in range(c):
                    probs = F.softmax(net(s[:, :, lo : i + 1])[:, :, ch, i - lo, j], dim=1)
                    s[:, ch, i, j] = torch.multinomial(probs, 1, generator=g)[:, 0] / (L - 1)
    return s.numpy(), None


PAIRS = {
    "gmm": (
        "scikit-learn GaussianMixture",
        peer_gmm,
        {"image": {"n_components": 10, "covariance_type": "diag"}, "vector": {"n_components": 8}},
    ),
    "kde": ("scikit-learn KernelDensity + PCA", peer_kde, {"image": {"pca": 32}, "vector": {}}),
    "flow": ("zuko NSF + plain loop", peer_zuko, {"image": {}, "vector": {}}),
    "vae": ("pythae VAE (defaults)", peer_pythae, {"image": {}, "vector": {}}),
    "gan": ("DCGAN loop (TF tutorial)", peer_dcgan, {"image": {}}),
    "diffusion": ("minimal DDPM loop", peer_ddpm, {"image": {}}),
    "ebm": ("UvA short-run EBM loop", peer_uva_ebm, {"image": {}}),
    "autoregressive": ("gated PixelCNN loop", peer_pixelcnn, {"image": {}}),
}
KEYS = [
    ("rule1", "frechet_distance"),
    ("rule1", "precision"),
    ("rule1", "recall"),
    ("rule1", "coverage"),
    ("rule1", "c2st_accuracy"),
    ("rule2", "ct"),
    ("rule2", "memorization_rate"),
]


def _judge(samples: np.ndarray, ds: Any, seed: int) -> dict[str, Any]:
    return genlab.evaluate(samples, ds, n=len(samples), seed=seed).to_dict()


def run_pair(family: str, ds: Any, seconds: float, seed: int) -> dict[str, Any]:
    peer_name, peer_fn, settings = PAIRS[family]
    if ds.kind not in settings:
        raise ValueError(f"no {ds.kind} peer for {family}")
    n = min(PIXELCNN_N, len(ds.test)) if family == "autoregressive" and ds.kind == "image" else len(ds.test)
    t0 = time.perf_counter()
    model = genlab.make_model(family, **settings[ds.kind]).fit(ds, budget=f"{seconds:.0f}s", seed=seed)
    g_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    g_samples = model.sample(n, seed=seed + 1)
    g_sample_s = time.perf_counter() - t0
    try:
        g_nll = -float(np.mean(model.log_prob(ds.test[:1000]))) / int(np.prod(ds.shape))
    except genlab.NotSupported:  # no log_prob, or none for this kind of data (diffusion on images)
        g_nll = None
    t0 = time.perf_counter()
    p_samples, p_lp = peer_fn(ds, seconds, seed)
    p_fit = time.perf_counter() - t0  # fit and sampling
    p_samples = p_samples[:n]
    p_nll = -float(np.mean(p_lp)) / int(np.prod(ds.shape)) if p_lp is not None else None
    return {
        "family": family,
        "peer": peer_name,
        "seconds": seconds,
        "n": n,
        "genlab": {"fit_s": g_fit, "sample_s": g_sample_s, "nll_per_dim": g_nll,
                   "steps": getattr(getattr(model, "train_result_", None), "steps", None),
                   "sized": getattr(model, "data_meta_", {}).get("sized"),
                   "evaluation": _judge(g_samples, ds, seed)},
        "peer_result": {"fit_s": p_fit, "nll_per_dim": p_nll, "steps": getattr(peer_fn, "steps", None),
                        "evaluation": _judge(p_samples, ds, seed)},
        "samples": {"genlab": g_samples[:12], "peer": p_samples[:12]},
    }  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    header = ["data", "genlab vs peer", "fit s", "steps", "n judged", "NLL/dim", *[k for _, k in KEYS],
              "verdicts (Rule 1, 2)"]  # fmt: skip
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["data"], r["family"], "error: " + r["error"][:80], *["–"] * (len(header) - 3)])
            continue
        g, p = r["genlab"], r["peer_result"]

        def pair(a: Any, b: Any) -> str:
            return " / ".join("–" if v is None else f"{v:.3g}" for v in (a, b))

        cells = [
            pair(g["evaluation"][rule][k]["value"], p["evaluation"][rule][k]["value"]) for rule, k in KEYS
        ]
        ver = lambda e: f"{e['verdict']['rule1']}, {e['verdict']['rule2']}"  # noqa: E731
        out.append(
            [
                r["data"],
                f"{r['family']} vs {r['peer']}",
                pair(g["fit_s"], p["fit_s"]),
                pair(g.get("steps"), p.get("steps")),
                r.get("n", "–"),
                pair(g["nll_per_dim"], p["nll_per_dim"]),
                *cells,
                f"{ver(g['evaluation'])} / {ver(p['evaluation'])}",
            ]
        )
    return markdown_table(header, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    ap.add_argument("--families", nargs="+", default=list(PAIRS))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--fashion-n", type=int, default=None)
    ap.add_argument(
        "--fashion-test", type=int, default=None, help="test images of the subset (default n / 5)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="peers", help="results name under benchmarks/results/")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        if name == "fashion-mnist" and not Path(args.fashion).is_file():
            print(f"skipping fashion-mnist: {args.fashion} not found", file=sys.stderr)
            continue
        ds = load(name, args.fashion, args.fashion_n, args.fashion_test)
        seconds = max(2.0, BUDGET_S.get(name, 60.0) * args.scale)
        pictures: dict[str, np.ndarray] = {}
        for family in args.families:
            print(
                f"[{name}] {family} vs {PAIRS[family][0]} ({seconds:.0f}s each) ...",
                file=sys.stderr,
                flush=True,
            )
            try:
                row = run_pair(family, ds, seconds, args.seed)
                shown = row.pop("samples")
                pictures[f"{family} (genlab)"], pictures[f"{family} (peer)"] = shown["genlab"], shown["peer"]
                sample_picture(f"{args.out}_{name}", ds, pictures)
            except Exception as e:
                traceback.print_exc()
                row = {"family": family, "error": f"{type(e).__name__}: {e}"}
            row["data"] = name
            rows.append(row)
            write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows), quiet=True)  # partial
    write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows))


if __name__ == "__main__":
    main()
