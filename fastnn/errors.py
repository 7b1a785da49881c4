"""Errors of fastnn's own (beyond Python's ValueError, TypeError and OSError, which it raises as they are)."""

__all__ = ["CorruptFileError"]


class CorruptFileError(ValueError):
    """A file fastnn reads (a saved model, an IDX dataset) is not a valid file of its kind: truncated,
    damaged, tampered with, inconsistent with itself, or not that kind of file at all. The message names the
    file and what is wrong. A ValueError, so `except ValueError` catches it too."""
