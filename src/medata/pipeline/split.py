"""Optional stage, re-split: train/test assigned again, seeded, stratified by class, with whole
units (a CK+ subject, a duplicate group) on one side."""

from __future__ import annotations

import hashlib
from collections import Counter

import pandas as pd

from medata.manifest import kept_rows
from medata.pipeline.options import Resplit
from medata.records import CLASSES


def resplit(frame: pd.DataFrame, opts: Resplit) -> pd.DataFrame:
    """The frame with the kept rows' ``split`` re-assigned.

    A unit is a connected set of kept rows that share a source group (a CK+ subject) or a
    duplicate group: copies of one picture and frames of one subject never straddle the split."""
    frame = frame.copy()
    kept = kept_rows(frame)
    cols = ["source", "input", "source_path", "group", "dup_group", "label"]
    sub = frame.loc[kept, cols].astype(object).where(frame.loc[kept, cols].notna(), None)
    rows = sub.to_dict("records")
    units = _split_units(rows)
    members: dict[str, list[int]] = {}
    for k, unit in enumerate(units):
        members.setdefault(unit, []).append(k)
    per_class = Counter(row["label"] for row in rows)
    target = {c: round(opts.test_size * per_class[c]) for c in CLASSES}
    in_test: Counter[str] = Counter()
    split = [""] * len(rows)

    def order(g: str) -> str:
        return hashlib.sha256(f"{opts.seed}\0{g}".encode()).hexdigest()

    for unit in sorted(members, key=order):
        counts = Counter(rows[k]["label"] for k in members[unit])
        major = counts.most_common(1)[0][0]
        to_test = in_test[major] + counts[major] <= target[major] + counts[major] // 2
        for k in members[unit]:
            split[k] = "test" if to_test else "train"
        if to_test:
            in_test.update(counts)
    frame.loc[kept, "split"] = pd.array(split, dtype=frame["split"].dtype)
    return frame


def _split_units(rows: list[dict[str, object]]) -> list[str]:
    """For each row, the key of its unit: union of source groups and duplicate groups."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    own = []
    for row in rows:
        key = (f"{row['source']}:{row['group']}" if row.get("group")
               else f"file:{row['source']}:{row['input']}:{row['source_path']}")  # fmt: skip
        own.append(key)
        if row.get("dup_group"):
            a, b = find(key), find(f"dup:{row['dup_group']}")
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(k) for k in own]
