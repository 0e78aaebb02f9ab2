"""The GAN family: mode coverage on 8gaussians, the three losses, n_critic, images, no encoder/density."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genlab
from genlab.data.toys import CENTERS8, SD8
from genlab.models.gan import GAN


def near_mode(x: np.ndarray) -> tuple[float, np.ndarray]:
    d = np.sqrt(((x[:, None, :] - CENTERS8[None]) ** 2).sum(-1))  # (n, 8)
    near = d.min(1) < 3 * SD8
    return float(near.mean()), np.bincount(d.argmin(1)[near], minlength=8) / max(near.sum(), 1)


def test_covers_all_modes_of_8gaussians() -> None:
    ds = genlab.load_dataset("8gaussians")
    m = genlab.make_model("gan", latent_dim=8, hidden=(128, 128), lr=2e-3)
    m.fit(ds, budget="800steps", seed=0, progress="off")
    share, modes = near_mode(m.sample(4000, seed=1))
    assert share >= 0.9 and modes.min() >= 0.05, (share, modes)
    # decode is the generator: the same latents give the same points as sample
    z = torch.randn(10, 8, generator=m.generator(5)).numpy()
    np.testing.assert_array_equal(m.decode(z), m.sample(10, seed=5))
    with pytest.raises(genlab.NotSupported, match="encoder"):
        m.encode(ds.test[:3])
    with pytest.raises(genlab.NotSupported):
        m.log_prob(ds.test[:3])


class CountingGAN(GAN):
    """Counts discriminator and generator updates."""

    def training_step(self, batch, ctx):
        real = ctx.optimize
        self.calls_ = getattr(self, "calls_", {"d": 0, "g": 0})

        def counting(name, loss):
            self.calls_[name] += 1
            real(name, loss)

        ctx.optimize = counting
        try:
            return super().training_step(batch, ctx)
        finally:
            ctx.optimize = real


@pytest.mark.parametrize(
    ("params", "d_per_step"),
    [
        ({"loss": "hinge"}, 1),
        ({"loss": "nonsaturating", "spectral_norm": True, "n_critic": 2}, 2),
        ({"loss": "wgan-gp"}, 5),
    ],
)
def test_losses_and_critic_steps(params, d_per_step, tmp_path) -> None:
    x = genlab.load_dataset("8gaussians", n=500).train
    m = CountingGAN(latent_dim=4, hidden=(32, 32), batch_size=64, **params)
    m.fit(x, budget="6steps", seed=0, progress="off")
    assert m.calls_ == {"d": 6 * d_per_step, "g": 6}
    last = [r for r in m.train_result_.history if "losses" in r][-1]["losses"]
    assert set(last) == {"d", "g"} and np.isfinite(list(last.values())).all()
    m.save(tmp_path / "m")
    loaded = genlab.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.sample(20, seed=2), m.sample(20, seed=2))


def test_wgan_gp_penalty_closed_form() -> None:
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    m = GAN(latent_dim=2, hidden=(8,), loss="wgan-gp")
    m.shape_, m.kind_, m.data_meta_ = (2,), "vector", {}
    m.build(genlab.models.base.FitData(x, None, (2,), "vector"), m.generator(0))
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))  # critic w.x: gradient norm 5 everywhere
        lin.bias.zero_()
        m.discriminator_.shift.zero_(), m.discriminator_.scale.fill_(1.0)
        for p in m.generator_.parameters():
            p.zero_()
        m.generator_.shift.zero_()  # the generator outputs 0, scored 0
    m.discriminator_.net = lin
    real = torch.from_numpy(x)
    expected = -(real @ torch.tensor([3.0, 4.0])).mean() + 10.0 * (5.0 - 1.0) ** 2
    torch.testing.assert_close(m.d_loss(real, torch.Generator().manual_seed(0)), expected)


def test_images_from_the_dcgan_networks() -> None:
    ds = genlab.load_dataset("digits")
    m = genlab.make_model("gan", latent_dim=16, channels=(16, 32), batch_size=64)
    m.fit(ds, budget="5steps", seed=0, progress="off")
    x = m.sample(8, seed=0)
    assert x.shape == (8, 1, 8, 8) and x.min() >= 0.0 and x.max() <= 1.0
    for shape in [(1, 28, 28), (3, 32, 32)]:
        y = np.random.default_rng(0).uniform(size=(8, *shape)).astype(np.float32)
        g = genlab.make_model("gan", latent_dim=4, channels=(8, 8, 8, 8), batch_size=8)
        assert g.fit(y, budget="1steps", seed=0, progress="off").sample(2, seed=0).shape == (2, *shape)


def test_bad_settings_are_named() -> None:
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    with pytest.raises(genlab.GenlabError, match="loss"):
        genlab.make_model("gan", loss="minimax").fit(x, budget="1steps")
    with pytest.raises(genlab.GenlabError, match="n_critic"):
        genlab.make_model("gan", n_critic=0).fit(x, budget="1steps")
