"""Laws that hold for any input: names stay unique and safe, the manifest round-trips."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from medata.manifest import read_manifest, to_frame, write_manifest
from medata.pipeline.naming import output_names, slug
from medata.records import CLASSES

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=80,
)


@given(names)
def test_slug_is_short_lower_ascii_and_free_of_split_words(stem):
    s = slug(stem)
    assert 1 <= len(s) <= 48
    assert s == s.lower() and s.isascii()
    assert set(s) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    assert not any(tok in ("train", "test", "val") for tok in s.split("_"))


@given(st.lists(st.tuples(names, st.sampled_from(CLASSES)), min_size=1, max_size=40))
def test_assigned_output_paths_are_unique_even_ignoring_case(items):
    rows = [
        {"source": "generic", "input": "in", "source_path": f"{label}/{name}.jpg",
         "split": "train", "label": label, "format": "JPEG"}
        for name, label in items
    ]  # fmt: skip
    paths = output_names(rows)
    assert len({p.casefold() for p in paths}) == len(paths)
    assert all(p.startswith("train/") and ".." not in p.split("/") for p in paths)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "source": st.sampled_from(["kmirfan", "kori"]),
                "input": st.text(min_size=1, max_size=10),
                "source_path": st.text(min_size=1, max_size=30),
                "status": st.sampled_from(["kept", "excluded", "rejected"]),
                "width": st.one_of(st.none(), st.integers(1, 10_000)),
                "label": st.one_of(st.none(), st.sampled_from(CLASSES)),
            }
        ),
        max_size=20,
    )
)
def test_manifest_write_then_read_is_the_identity(tmp_path_factory, rows):
    df = to_frame(rows)
    path = Path(tmp_path_factory.mktemp("m")) / "m.parquet"
    write_manifest(df, path)
    back, meta = read_manifest(path)
    pd.testing.assert_frame_equal(back, df)
    assert meta["medata.schema_version"] == "1"
