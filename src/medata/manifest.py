"""Read and write the Parquet manifest, with schema version, medata version and hash recipe."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medata import __version__
from medata.errors import InputError, UsageError
from medata.guard import Refused, check_regular
from medata.properties import PROPERTY_COLUMNS
from medata.records import (
    ANNOTATION_NAMES,
    HASH_RECIPE,
    MANIFEST_COLUMNS,
    MANIFEST_NAMES,
    SCHEMA_VERSION,
    Column,
    Status,
)

_ARROW = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_(),
          "float64": pa.float64(), "binary": pa.binary()}  # fmt: skip
_PANDAS = {"string": "string", "int64": "Int64", "bool": "boolean", "float64": "Float64",
           "binary": "object"}  # fmt: skip
MANIFEST_FILE = "manifest.parquet"  # in a dataset folder
# Columns added after schema version 1's first release: an older manifest reads with them empty.
OPTIONAL = frozenset({"thumb", "dup_score", "phash_mirror", *PROPERTY_COLUMNS})  # newer than v1


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
    return _typed({c.name: [row.get(c.name) for row in rows] for c in MANIFEST_COLUMNS})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame (possibly carrying work columns) -> exactly the declared columns and dtypes."""
    return _typed({
        c.name: [None if v is pd.NA or (isinstance(v, float) and v != v) else v
                 for v in frame[c.name].astype(object).tolist()]
        for c in MANIFEST_COLUMNS
    })  # fmt: skip


def _typed(values: dict[str, list[Any]]) -> pd.DataFrame:
    """Declared columns from Python values, column by column: a detour through float64 would
    round large integers such as nanosecond mtimes."""
    return pd.DataFrame(
        {c.name: pd.array(values[c.name], dtype=_PANDAS[c.dtype]) for c in MANIFEST_COLUMNS}
    )


def write_manifest(df: pd.DataFrame, path: Path, extra: dict[str, str] | None = None) -> None:
    table = pa.Table.from_pandas(
        df[list(MANIFEST_NAMES)], schema=arrow_schema(extra), preserve_index=False
    )
    pq.write_table(table, path)


def read_manifest(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The manifest as a DataFrame with declared dtypes, and its medata metadata."""
    try:
        check_regular(path)
        table = pq.read_table(path)
    except Refused as exc:
        raise InputError(f"cannot read manifest {path}: {exc.detail}") from None
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from exc
    meta = {
        k.decode(): v.decode()
        for k, v in (table.schema.metadata or {}).items()
        if k.startswith(b"medata.")
    }
    missing = [n for n in MANIFEST_NAMES if n not in table.column_names and n not in OPTIONAL]
    if missing:
        raise InputError(f"{path} is not a medata manifest: missing columns {', '.join(missing)}")
    df = table.to_pandas()
    for name in OPTIONAL - set(df.columns):
        df[name] = None
    for c in MANIFEST_COLUMNS:
        try:
            df[c.name] = df[c.name].astype(_PANDAS[c.dtype])
        except (TypeError, ValueError, pa.ArrowException):
            raise InputError(
                f"{path} is not a valid medata manifest: column {c.name!r} should hold {c.dtype}"
            ) from None
        _check_values(df, c, path)
    return df, meta


def _check_values(df: pd.DataFrame, c: Column, path: Path) -> None:
    """Declared patterns and enums hold: a manifest is untrusted input like any other."""
    if c.dtype == "binary":
        bad = df[c.name].map(lambda v: v is not None and not isinstance(v, bytes))
        if bool(bad.any()):
            raise InputError(f"{path} is not a valid medata manifest: column {c.name!r} "
                             "should hold bytes")  # fmt: skip
        return
    values = df[c.name].dropna()
    if c.dtype != "string" or values.empty:
        return
    bad = ~values.isin(c.enum) if c.enum is not None else None
    if c.pattern is not None:
        bad = ~values.str.fullmatch(c.pattern)
    if bad is not None and bool(bad.any()):
        row = int(bad[bad].index[0])
        raise InputError(
            f"{path} is not a valid medata manifest: row {row}, column {c.name!r} "
            f"holds {_clip(str(values[row]))!r}"
        )


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def kept_rows(frame: pd.DataFrame) -> pd.Index:
    """Index of the rows whose status is kept (a missing status is not kept)."""
    return frame.index[frame["status"].eq(Status.KEPT.value).fillna(False).to_numpy()]


def annotations_frame(manifest: pd.DataFrame) -> pd.DataFrame:
    kept = manifest[manifest["status"] == Status.KEPT.value]
    df = pd.DataFrame(
        {
            "file_name": kept["path"],
            "label": kept["label"],
            "split": kept["split"],
            "source": kept["source"],
            "source_path": kept["source_path"],
            "sha256": kept["sha256"],
        }
    )
    return df[list(ANNOTATION_NAMES)].sort_values("file_name", kind="stable").reset_index(drop=True)


@dataclass
class Target:
    manifest: pd.DataFrame
    meta: dict[str, str]
    root: Path | None  # the dataset folder, when given one


def load_target(path: Path) -> Target:
    """A dataset folder (with manifest.parquet) or a manifest file: the one way the commands that
    work on a merged dataset open it (dedupe, stats)."""
    if path.is_dir():
        if not (path / MANIFEST_FILE).exists():
            raise UsageError(f"{path} has no {MANIFEST_FILE}: run medata merge first")
        manifest, meta = read_manifest(path / MANIFEST_FILE)
        return Target(manifest, meta, path)
    if not path.exists():
        raise UsageError(f"not found: {path}")
    manifest, meta = read_manifest(path)
    return Target(manifest, meta, None)
