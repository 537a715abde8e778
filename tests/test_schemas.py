"""The column declaration in code and the exported schemas under schemas/ never drift apart."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from medata.records import ANNOTATION_NAMES, MANIFEST_NAMES
from medata.schemas_export import all_schemas

from .conftest import REPO


def test_every_exported_schema_file_equals_the_declaration_in_code():
    for name, doc in all_schemas().items():
        on_disk = json.loads((REPO / "schemas" / name).read_text(encoding="utf-8"))
        assert on_disk == doc, f"schemas/{name} drifted: run `make schemas`"


def test_the_written_manifest_has_exactly_the_declared_columns_in_order(demo_merged):
    names = pq.read_schema(demo_merged.out / "manifest.parquet").names
    assert tuple(names) == MANIFEST_NAMES


def test_the_manifest_schema_lists_the_columns_the_issue_requires():
    required = {
        "path",
        "split",
        "label",
        "source",
        "source_path",
        "source_label",
        "sha256",
        "phash",
        "width",
        "height",
        "mode",
        "format",
        "bytes",
        "status",
        "reason",
    }
    assert required <= set(MANIFEST_NAMES)
    assert ANNOTATION_NAMES[0] == "file_name"


def test_kept_rows_satisfy_the_exported_patterns(demo_merged):
    kept = demo_merged.kept
    assert kept["phash"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert kept["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_the_exported_pandera_schema_loads_back_into_pandera():
    import pandas as pd
    import pandera.pandas as pa

    schema = pa.DataFrameSchema.from_json(REPO / "schemas" / "annotations.pandera.json")
    assert set(schema.columns) == set(ANNOTATION_NAMES)
    bad = pd.DataFrame({n: ["x"] for n in ANNOTATION_NAMES})
    with pytest.raises(pa.errors.SchemaError):
        schema.validate(bad)
