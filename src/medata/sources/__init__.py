"""Source layouts, one module each, registered by name; detection picks one per input."""

from __future__ import annotations

from medata.sources import generic, kmirfan, kori, ziya07  # noqa: F401  (registers them)
from medata.sources.base import REGISTRY, Placement, Source, detect, get_source, register

__all__ = ["REGISTRY", "Placement", "Source", "detect", "get_source", "register"]
