"""Read and write the Parquet manifest, with schema version, medata version and hash recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medata import __version__
from medata.errors import InputError
from medata.records import HASH_RECIPE, MANIFEST_COLUMNS, MANIFEST_NAMES, SCHEMA_VERSION

_ARROW = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_()}
_PANDAS = {"string": "string", "int64": "Int64", "bool": "boolean"}


def arrow_schema(extra: dict[str, str] | None = None) -> pa.Schema:
    fields = [pa.field(c.name, _ARROW[c.dtype], nullable=c.nullable) for c in MANIFEST_COLUMNS]
    meta = {
        "medata.schema_version": str(SCHEMA_VERSION),
        "medata.version": __version__,
        "medata.hash_recipe": json.dumps(HASH_RECIPE, sort_keys=True),
    }
    meta.update(extra or {})
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in meta.items()})


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) -> a DataFrame with exactly the declared columns and dtypes."""
    # Column by column from Python values: a detour through float64 would round large integers
    # such as nanosecond mtimes.
    return pd.DataFrame(
        {
            c.name: pd.array([row.get(c.name) for row in rows], dtype=_PANDAS[c.dtype])
            for c in MANIFEST_COLUMNS
        }
    )


def write_manifest(df: pd.DataFrame, path: Path, extra: dict[str, str] | None = None) -> None:
    table = pa.Table.from_pandas(
        df[list(MANIFEST_NAMES)], schema=arrow_schema(extra), preserve_index=False
    )
    pq.write_table(table, path)


def read_manifest(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The manifest as a DataFrame with declared dtypes, and its medata metadata."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from exc
    meta = {
        k.decode(): v.decode()
        for k, v in (table.schema.metadata or {}).items()
        if k.startswith(b"medata.")
    }
    missing = [n for n in MANIFEST_NAMES if n not in table.column_names]
    if missing:
        raise InputError(f"{path} is not a medata manifest: missing columns {', '.join(missing)}")
    df = table.to_pandas()
    for c in MANIFEST_COLUMNS:
        df[c.name] = df[c.name].astype(_PANDAS[c.dtype])
    return df, meta
