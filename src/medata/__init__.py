"""medata: merge, validate, deduplicate and document facial micro-expression datasets."""

__version__ = "0.1.0"
