"""Exceptions by who is at fault. Each carries a one-line message; the CLI prints it, no traceback.

Problems *in the data* are never exceptions: they are rows with a reason code (see ``records``).
"""

from __future__ import annotations


class MedataError(Exception):
    """Base class: a one-line message for the user."""


class UsageError(MedataError):
    """The command was called wrongly (bad option, missing path)."""


class InputError(MedataError):
    """An input as a whole cannot be read (not a zip, truncated archive, missing folder)."""


class OutputError(MedataError):
    """The output cannot be written (exists, locked, disk full)."""
