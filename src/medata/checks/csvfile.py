"""annotations.csv: readable, UTF-8 (BOM and CRLF are fine), the declared columns, valid values."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from medata.checks.findings import Findings
from medata.checks.schema import annotation_schema
from medata.guard import MAX_TABLE_BYTES, Refused, read_inside
from medata.output import read_csv
from medata.problems import Code
from medata.records import ANNOTATION_NAMES

CSV_NAME = "annotations.csv"


def read_annotations(root: Path, findings: Findings) -> pd.DataFrame | None:
    """The CSV as strings (missing cells as NA), or None when it cannot be used at all."""
    path = root / CSV_NAME
    if not path.exists():
        findings.add(Code.CSV_MISSING, CSV_NAME, "annotations.csv does not exist")
        return None
    try:
        raw = read_inside(root, CSV_NAME, MAX_TABLE_BYTES)
    except Refused as exc:
        findings.add(Code.CSV_UNREADABLE, CSV_NAME, exc.detail)
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        findings.add(Code.CSV_ENCODING, CSV_NAME, f"not UTF-8 (byte {exc.start}: {exc.reason})")
        return None
    try:
        df = read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        findings.add(Code.CSV_UNREADABLE, CSV_NAME, f"not a readable CSV: {exc}")
        return None
    for name in ANNOTATION_NAMES:
        if name not in df.columns:
            findings.add(Code.COLUMN_MISSING, CSV_NAME, f"column {name!r} is missing")
    for name in df.columns:
        if name not in ANNOTATION_NAMES:
            findings.add(Code.COLUMN_UNKNOWN, CSV_NAME, f"column {name!r} is not a medata column")
    if "file_name" not in df.columns:
        return None
    _check_values(df, findings)
    _check_duplicates(df, findings)
    return df


def _row_path(df: pd.DataFrame, index: Any) -> str:
    value = df.at[index, "file_name"] if index in df.index else None
    return str(value) if isinstance(value, str) else f"{CSV_NAME}:{int(index) + 2}"


def _check_values(df: pd.DataFrame, findings: Findings) -> None:
    import pandera.pandas as pa

    present = [c for c in ANNOTATION_NAMES if c in df.columns]
    schema = annotation_schema().select_columns(present)
    try:
        schema.validate(df[present], lazy=True)
    except pa.errors.SchemaErrors as exc:
        for case in exc.failure_cases.itertuples():
            index = case.index
            column, check = str(case.column), str(case.check)
            value = None if pd.isna(case.failure_case) else case.failure_case
            code = Code.BAD_VALUE
            if check.startswith("isin") and column == "label":
                code = Code.UNKNOWN_LABEL
            elif check.startswith("isin") and column == "split":
                code = Code.UNKNOWN_SPLIT
            line = f"line {int(index) + 2}: " if pd.notna(index) else ""
            path = _row_path(df, index) if pd.notna(index) else CSV_NAME
            findings.add(code, path, f"{line}{column} = {value!r} fails {check}",
                         line=int(index) + 2 if pd.notna(index) else None, expected=check,
                         actual=value)  # fmt: skip


def _check_duplicates(df: pd.DataFrame, findings: Findings) -> None:
    names = df["file_name"]
    for index in names[names.notna() & names.duplicated(keep="first")].index:
        findings.add(Code.DUPLICATE_ROW, str(names[index]),
                     f"line {int(index) + 2} repeats a path listed earlier",
                     line=int(index) + 2)  # fmt: skip
