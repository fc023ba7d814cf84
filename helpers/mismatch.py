"""What a saved model refuses: the errors raised when data or settings do not match what it was trained with.

Each names what the model expects and what was offered. They live apart from :mod:`helpers.artifacts` so the
preprocessor, the artifact loader and prediction on new data raise the same classes without importing each other.
"""

from __future__ import annotations


class ManifestMismatchError(ValueError):
    """New data or settings do not match what the saved model was trained with."""


class MissingFeatureError(ManifestMismatchError):
    """The frame lacks columns the model reads."""


class WindowMismatchError(ManifestMismatchError):
    """The window length asked for differs from the model's."""


class TargetMismatchError(ManifestMismatchError):
    """The target asked for differs from the model's."""


class TooFewRowsError(ManifestMismatchError):
    """The frame is shorter than one input window (after the indicators' warm-up)."""


class DateGapError(ManifestMismatchError):
    """Consecutive dates lie further apart than the series' trading calendar allows."""
