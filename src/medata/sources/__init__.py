"""Source layouts, one module each, registered by name; detection picks one from an input's paths."""

from __future__ import annotations

from medata.sources.base import REGISTRY, Placement, Source, detect, get_source, register
from medata.sources import generic, kmirfan, kori, ziya07  # noqa: F401  (registers them)

__all__ = ["REGISTRY", "Placement", "Source", "detect", "get_source", "register"]
