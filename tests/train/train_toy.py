"""A tiny family for engine tests: a small MLP trained to reproduce its input (not registered).

Knobs to misbehave on purpose: `nan_steps` (the loss is NaN at these global steps), `poison_step`
(the weights are overwritten with NaN at that step), `drift` (training pushes a parameter up while
the validation loss grows with it, for early stopping).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.models.neural import NeuralModel


class Toy(NeuralModel):
    name = "toy"
    log_prob_kind = None
    default_budget = "7steps"

    def __init__(
        self,
        hidden: int = 16,
        nan_steps: tuple[int, ...] = (),
        poison_step: int | None = None,
        drift: bool = False,
        *,
        lr: float = 1e-2,
        batch_size: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, **kwargs)
        self.hidden = hidden
        self.nan_steps = nan_steps
        self.poison_step = poison_step
        self.drift = drift

    def build(self, data: Any, generator: torch.Generator) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
            self.net_ = nn.Sequential(
                nn.Linear(data.dim, self.hidden), nn.Tanh(), nn.Linear(self.hidden, data.dim)
            )
            self.w_ = nn.Linear(1, 1, bias=False)

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_, "w_": self.w_}

    def training_step(self, batch: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        if ctx.step == self.poison_step:
            with torch.no_grad():
                getattr(self.net_, "module", self.net_)[0].weight.fill_(float("nan"))
        noise = 0.01 * torch.randn(batch.shape, generator=ctx.generator)  # the engine's noise stream
        loss = ((self.net_(batch + noise) - batch) ** 2).mean()
        w = self.w_(torch.ones(1, 1))[0, 0]
        loss = loss - w if self.drift else loss + 0.0 * w
        if ctx.step in self.nan_steps:
            loss = loss * float("nan")
        ctx.optimize("main", loss)
        return {"loss": loss.detach()}

    def validation_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.drift:
            return self.w_(torch.ones(1, 1))[0, 0] ** 2
        return ((self.net_(batch) - batch) ** 2).mean()

    def _sample(self, n: int, seed: int) -> np.ndarray:
        z = torch.randn(n, self.shape_[0], generator=self.generator(seed))
        with torch.no_grad():
            return self.net_(z).numpy()


def toy_data(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) @ np.array([[1.0, 0.5], [0.0, 0.3]])).astype(np.float32)


class Split:
    """A minimal Dataset: train and test arrays."""

    kind = "vector"
    name = "toy"

    def __init__(self, n: int = 200, seed: int = 0) -> None:
        x = toy_data(n, seed)
        self.train, self.test = x[: n * 3 // 4], x[n * 3 // 4 :]


def weights(model: NeuralModel) -> dict[str, np.ndarray]:
    return {
        f"{a}.{k}": v.detach().numpy().copy()
        for a, m in model.modules().items()
        for k, v in m.state_dict().items()
    }
