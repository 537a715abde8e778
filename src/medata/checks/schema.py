"""pandera schema of annotations.csv, built from the column declaration in ``records``."""

from __future__ import annotations

import json
from typing import Any

from medata.records import ANNOTATION_COLUMNS


def annotation_schema() -> Any:
    import pandera.pandas as pa  # heavy import: only when validating

    columns = {}
    for c in ANNOTATION_COLUMNS:
        checks = []
        if c.enum is not None:
            checks.append(pa.Check.isin(list(c.enum)))
        if c.pattern is not None:
            checks.append(pa.Check.str_matches(c.pattern))
        columns[c.name] = pa.Column(str, checks=checks, nullable=c.nullable, required=True)
    return pa.DataFrameSchema(columns, strict=False, ordered=False, name="annotations.csv")


def exported_pandera_schema() -> dict[str, Any]:
    """The schema as pandera's own JSON (loadable with ``pandera.io.from_json``).

    Column dtypes are written as ``str``: pandera would write the installed pandas' string dtype
    (``string[pyarrow]`` today), which would make the exported file change with pandas versions.
    """
    doc: dict[str, Any] = json.loads(annotation_schema().to_json())
    for column in doc["columns"].values():
        column["dtype"] = "str"
    return doc
