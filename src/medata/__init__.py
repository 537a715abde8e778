"""medata: merge, validate, deduplicate and document facial micro-expression datasets.

The public API (``medata.merge``, ``medata.validate``, ``medata.stats``,
``medata.find_duplicates``, ``medata.train_baseline`` and their option types) lives in
``medata.api``; it is imported on first use, so ``import medata`` stays light."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "merge": "medata.api",
    "validate": "medata.api",
    "stats": "medata.api",
    "find_duplicates": "medata.api",
    "train_baseline": "medata.api",
    "InputSpec": "medata.pipeline",
    "MergeOptions": "medata.pipeline",
    "Resplit": "medata.pipeline",
    "MergeResult": "medata.pipeline",
    "ValidateOptions": "medata.checks.run",
    "DedupePolicy": "medata.dedupe.resolve",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medata' has no attribute {name!r}")
