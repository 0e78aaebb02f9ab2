"""The training engine: one loop on Lightning Fabric for every torch family (see `engine.py`).

It sits below the model families: it imports nothing from `genlab.models`, and a family hands it
its hooks (`Trainable`), its `TrainConfig` and the caller's `EngineOptions`.
"""

from genlab.train.config import EngineOptions, TrainConfig
from genlab.train.engine import StepContext, Trainable, TrainResult, train

__all__ = ["EngineOptions", "StepContext", "TrainConfig", "TrainResult", "Trainable", "train"]
