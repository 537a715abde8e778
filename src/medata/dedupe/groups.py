"""Duplicate groups: connected components of exact pairs (same sha256 or same decoded pixels)
and near pairs (perceptual-hash distance up to a threshold), each described by its kind."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from medata.dedupe.search import hex_to_u64, near_pairs
from medata.labels import EXCLUDED_NAMES
from medata.records import Status

# Chosen on the real kmirfan archive (see README, "Deduplication"): pHash distances are even there;
# at <= 4 every sampled pair was the same photo (re-encoded, re-cropped, grey); at 6 about one
# pair in ten, at 8 one in five, at 10 most were different faces.
DEFAULT_THRESHOLD = 4
PROBED = (Status.KEPT.value, Status.EXCLUDED.value, Status.DUPLICATE.value, Status.LEAK.value,
          Status.CONFLICT.value)  # fmt: skip


@dataclass(frozen=True)
class Groups:
    """``member``: one row per grouped manifest row (index into the manifest) with its group id
    and the distance to the group's first member; ``table``: one row per group."""

    member: pd.DataFrame
    table: pd.DataFrame
    pairs: int


def effective_label(manifest: pd.DataFrame) -> pd.Series:
    """The canonical label, or for excluded rows their class name in brackets (``(sad)`` for
    both ``sad`` and ``sadness``). A group is a label conflict when this takes two values in it:
    the one definition used by dedupe, merge and stats (``label_conflicts``)."""
    folder = manifest["source_label"].fillna("?").str.casefold()
    folder = folder.map(lambda f: EXCLUDED_NAMES.get(f, f))
    return manifest["label"].fillna("(" + folder + ")")


def label_conflicts(manifest: pd.DataFrame, group: pd.Series) -> int:
    """How many groups (``group`` holds each row's group id) have two or more effective labels."""
    rows = group.notna()
    if not rows.any():
        return 0
    labels = effective_label(manifest[rows])
    return int((labels.groupby(group[rows].astype(str)).nunique() > 1).sum())


def find_groups(manifest: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD,
                hash_column: str = "phash") -> Groups:  # fmt: skip
    """Group every probed row (kept, or excluded by label) that has a hash."""
    cand = manifest[manifest["status"].isin(PROBED) & manifest[hash_column].notna()]
    idx = cand.index.to_numpy()
    n = len(idx)
    edges = [near_pairs(hex_to_u64(cand[hash_column].tolist()), threshold)] if n > 1 else []
    for column in ("sha256", "pixel_sha256"):
        codes = pd.factorize(cand[column])[0]
        edges.append(_same_value_pairs(codes))
    pairs = np.concatenate(edges) if edges else np.empty((0, 2), np.int64)
    pairs = np.unique(pairs, axis=0) if len(pairs) else pairs
    from scipy.sparse import coo_matrix  # scipy costs ~0.15 s to import: only when grouping
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    grouped = sizes[comp] > 1
    member = pd.DataFrame({"row": idx[grouped], "comp": comp[grouped]})
    return _describe(manifest, member, hash_column, len(pairs))


def _same_value_pairs(codes: np.ndarray) -> np.ndarray:
    """Pairs (first, other) for each run of equal codes (a star is enough for components)."""
    valid = codes >= 0
    pos = np.flatnonzero(valid)
    if len(pos) == 0:
        return np.empty((0, 2), np.int64)
    order = pos[np.argsort(codes[pos], kind="stable")]
    sorted_codes = codes[order]
    first = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    head = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    keep = head != order
    return np.stack([head[keep], order[keep]], axis=1).astype(np.int64)


def _describe(manifest: pd.DataFrame, member: pd.DataFrame, hash_column: str,
              n_pairs: int) -> Groups:  # fmt: skip
    rows = manifest.loc[member["row"]]
    member = member.assign(
        source=rows["source"].to_numpy(),
        sort_key=(rows["source"] + "\0" + rows["input"] + "\0" + rows["source_path"]).to_numpy(),
    ).sort_values(["comp", "sort_key"], kind="stable")
    # Group ids follow the first member's (source, input, path), so they are stable across runs.
    firsts = member.groupby("comp", sort=False)["sort_key"].first().sort_values(kind="stable")
    ids = {comp: f"g{k + 1:05d}" for k, comp in enumerate(firsts.index)}
    member["group"] = member["comp"].map(ids)
    member = member.sort_values(["group", "sort_key"], kind="stable").reset_index(drop=True)
    hashes = hex_to_u64(manifest.loc[member["row"], hash_column].tolist())
    first_pos = member.groupby("group", sort=False).cumcount() == 0
    anchor = pd.Series(np.where(first_pos, np.arange(len(member)), -1)).replace(-1, np.nan).ffill()
    member["distance"] = np.bitwise_count(hashes ^ hashes[anchor.astype(int).to_numpy()])
    table = _group_table(manifest, member)
    member["kind"] = member["group"].map(table.set_index("group")["kind"])
    return Groups(member.drop(columns=["comp", "sort_key"]), table, n_pairs)


def _group_table(manifest: pd.DataFrame, member: pd.DataFrame) -> pd.DataFrame:
    rows = manifest.loc[member["row"]]
    frame = pd.DataFrame({
        "group": member["group"].to_numpy(),
        "sha256": rows["sha256"].to_numpy(),
        "pixel": rows["pixel_sha256"].fillna("").to_numpy(),
        "split": rows["split"].fillna("").to_numpy(),
        "elabel": effective_label(rows).to_numpy(),
        "source": rows["source"].to_numpy(),
        "kept": (rows["status"] != Status.EXCLUDED.value).to_numpy(),
    })  # fmt: skip
    g = frame.groupby("group", sort=True)
    n = g.nunique()
    table = pd.DataFrame({
        "size": g.size(),
        "kind": np.where((n["sha256"] == 1) | (n["pixel"] == 1), "exact", "near"),
        "byte_identical": n["sha256"] == 1,
        "splits": g["split"].agg(lambda v: ",".join(sorted(set(v) - {""}))),
        "labels": g["elabel"].agg(lambda v: ",".join(sorted(set(v)))),
        "sources": g["source"].agg(lambda v: ",".join(sorted(set(v)))),
        "cross_split": n["split"] > 1,
        "label_conflict": n["elabel"] > 1,
        "cross_source": n["source"] > 1,
        "kept_members": g["kept"].sum().astype(int),
    })  # fmt: skip
    return table.reset_index()


def byte_identical_summary(manifest: pd.DataFrame) -> dict[str, int]:
    """Groups of equal sha256 over every probed row: the counts a download's README quotes."""
    probed = manifest[manifest["status"].isin(PROBED) & manifest["sha256"].notna()]
    probed = probed.assign(elabel=effective_label(probed))
    g = probed.groupby("sha256")
    size = g.size()
    multi = size[size > 1].index
    n = g.nunique().loc[multi]
    return {
        "groups": len(multi),
        "files": int(size.loc[multi].sum()),
        "cross_split": int((n["split"] > 1).sum()),
        "label_conflict": int((n["elabel"] > 1).sum()),
        "cross_source": int((n["source"] > 1).sum()),
    }
