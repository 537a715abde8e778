"""Plain-text forms of a findings table for machines: JSON, GitHub annotations, report files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from medata.errors import UsageError
from medata.output import write_csv
from medata.report.text import visible


def findings_json(result: Any) -> str:
    doc = {
        "dataset": str(result.root),
        "verdict": "fail" if result.errors else "pass",
        "errors": result.errors,
        "warnings": result.warnings,
        "rows": result.rows,
        "files": result.files,
        "decoded": result.decoded,
        "stopped_early": result.stopped_early,
        "findings": [
            {
                k: (None if v is None or v is pd.NA else int(v) if k == "line" else v)
                for k, v in row.items()
            }
            for row in result.findings.astype(object).to_dict(orient="records")
        ],  # fmt: skip
    }
    return json.dumps(doc, indent=2)  # ASCII: no raw control or bidi character reaches a terminal


def _escape(text: str, prop: bool = False) -> str:
    text = visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_annotations(result: Any) -> str:
    """One ``::error`` / ``::warning`` workflow command per finding (GitHub Actions)."""
    lines = []
    for f in result.findings.itertuples():
        level = "error" if f.severity == "error" else "warning"
        file = _escape(f"{result.root}/{f.path}".replace("//", "/"), prop=True)
        lines.append(f"::{level} file={file},title={_escape(f.code, True)}::{_escape(f.detail)}")
    return "\n".join(lines)


def write_table(table: pd.DataFrame, path: Path) -> None:
    """A full table for machines: ``.parquet`` or ``.csv`` by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".csv":
        write_csv(table, path)
    else:
        raise UsageError(f"--report must end in .parquet or .csv, got {path.name}")
