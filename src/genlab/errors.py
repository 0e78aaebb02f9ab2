"""The exceptions genlab raises on purpose. Each names what is wrong and where."""

from __future__ import annotations

__all__ = ["GenlabError", "DataError", "NotSupported", "NotFittedError"]


class GenlabError(Exception):
    """Base class: an error a user can act on (the CLI prints it as one line, exit code 2)."""


class DataError(GenlabError, ValueError):
    """Bad input data or a bad/tampered model file: the message names the file, row, column or shape."""


class NotSupported(GenlabError, NotImplementedError):
    """A capability this model family does not have (e.g. `log_prob` of an EBM)."""


class NotFittedError(GenlabError, RuntimeError):
    """A method that needs a fitted model was called before `fit`."""
