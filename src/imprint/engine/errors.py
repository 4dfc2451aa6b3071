"""What can go wrong in the engine, in words an end user can act on.

Callers map these to their own codes; the message is meant to be shown as is.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class Cancelled(EngineError):
    """The caller's cancel event was set; the work stopped at a step boundary."""


class BadInput(EngineError):
    """The request cannot be served as given (no images, unknown object type, bad size...)."""


class UnusableImages(BadInput):
    """Too few of the images can be trained on; `reasons` says why, per input index."""

    def __init__(self, message: str, reasons: dict[int, str]) -> None:
        super().__init__(message)
        self.reasons = dict(reasons)


class BaseModelNotFound(EngineError):
    """The base model folder or hub id does not exist or is not a Stable Diffusion pipeline."""
