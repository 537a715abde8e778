"""Applying duplicate groups and resolution decisions to a manifest frame: the one place this
happens, for ``medata merge`` and for ``medata dedupe --apply`` alike."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from medata.dedupe.groups import Groups
from medata.dedupe.resolve import Decision


def mark(manifest: pd.DataFrame, groups: Groups) -> pd.DataFrame:
    """The manifest with ``dup_group``, ``dup_kind`` and ``dup_score`` of every grouped row (and
    cleared on the others)."""
    m = manifest.copy()
    member = groups.member
    rows = member["row"].to_numpy()
    for col, values in (("dup_group", member["group"]), ("dup_kind", member["kind"])):
        m[col] = pd.array([None] * len(m), dtype=m[col].dtype)
        m.loc[rows, col] = pd.array(values.tolist(), dtype=m[col].dtype)
    m["dup_score"] = pd.array([None] * len(m), dtype="Float64")
    score = member["score"].to_numpy(dtype=float)
    values = [None if np.isnan(x) else float(x) for x in score]
    m.loc[rows, "dup_score"] = pd.array(values, dtype="Float64")
    return m


def apply_resolution(
    manifest: pd.DataFrame,
    decisions: list[Decision],
    moves: dict[int, str],
    name: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The manifest after ``resolve``'s decisions: moved rows change split (a file keeps its
    name under the other split), decided rows take their status and reason and lose their file;
    then ``name`` (when given: a merge names its kept files only now) and each decided row's
    detail names the file kept in its place."""
    m = manifest.copy()
    if moves:
        idx = list(moves)
        m.loc[idx, "split"] = pd.array([moves[i] for i in idx], dtype=m["split"].dtype)
        has = [i for i in idx if isinstance(m.at[i, "path"], str)]
        if has:
            m.loc[has, "path"] = pd.array(
                [f"{moves[i]}/{str(m.at[i, 'path']).split('/', 1)[1]}" for i in has],
                dtype=m["path"].dtype,
            )
    if decisions:
        idx = [d.row for d in decisions]
        m.loc[idx, "status"] = pd.array([d.status.value for d in decisions], dtype="string")
        m.loc[idx, "reason"] = pd.array([d.reason.value if d.reason else None for d in decisions],
                                        dtype="string")  # fmt: skip
        m.loc[idx, "path"] = pd.NA
        m.loc[idx, "mtime_ns"] = pd.NA  # no file: no file time
    if name is not None:
        m = name(m)
    if decisions:
        groups_of = m["dup_group"]
        m.loc[idx, "detail"] = pd.array(
            [d.detail(_where(m, d.ref) if d.ref is not None else None, groups_of.at[d.row])
             for d in decisions], dtype=m["detail"].dtype)  # fmt: skip
    return m


def _where(m: pd.DataFrame, row: int) -> str:
    """Where a kept row is: its output path, else its input and path there."""
    path = m.at[row, "path"]
    if isinstance(path, str):
        return path
    return f"{m.at[row, 'input']}:{m.at[row, 'source_path']}"
