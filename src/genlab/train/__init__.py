"""The training engine: one loop on Lightning Fabric for every torch family (see `engine.py`)."""

from genlab.train.engine import StepContext, TrainResult, train

__all__ = ["StepContext", "TrainResult", "train"]
