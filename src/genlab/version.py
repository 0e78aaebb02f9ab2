"""The version of genlab, on the ground floor so that any layer may record it."""

__version__ = "0.1.0"
