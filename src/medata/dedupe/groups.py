"""Duplicate groups: connected components of exact pairs (same sha256 or same decoded pixels)
and verified near pairs (candidates from the pHash search and the view search), each described
by its kind."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medata.ckplus import sequence_of
from medata.dedupe.search import hex_to_u64, nearest_pairs, unique_pairs
from medata.dedupe.verify import SIZE
from medata.labels import EXCLUDED_NAMES
from medata.progress import Progress
from medata.records import Status

# The pHash radius of near-duplicate *candidates* in the same framing; re-cropped, zoomed and
# turned copies come from the view search (medata.dedupe.views). Every candidate is verified on
# the thumbnails (medata.dedupe.verify). Unverified, pHash <= 4 was the safe limit on the real
# kmirfan archive (at 6 about one pair in ten, at 8 one in five were different faces, and
# different expressions of one CK+ subject chain within 4). Verified, 8 keeps 18 copies of the
# real archive that radius 6 loses (bench/bench_near.py, bench/bench_views.py).
DEFAULT_THRESHOLD = 8
# Each image's pHash candidates: its NEAREST nearest (a pair stays when either end keeps it;
# each image ranked as first and as second of its pairs apart: ``search.nearest_of_each``).
# On aligned or drawn faces radius 8 holds hundreds per image (2.8 million pairs among 48,800
# generated faces, nearly all of them other faces: verifying them took six minutes and 8.5 GB).
# On the real archive (at most 12 per image) 6 gives the same groups and scores as no limit; 4
# loses verified pairs there.
NEAREST = 6
PROBED = (Status.KEPT.value, Status.EXCLUDED.value, Status.DUPLICATE.value, Status.LEAK.value,
          Status.CONFLICT.value)  # fmt: skip


@dataclass(frozen=True)
class Groups:
    """``member``: one row per grouped manifest row (index into the manifest) with its group id
    and the distance to the group's first member; ``table``: one row per group."""

    member: pd.DataFrame
    table: pd.DataFrame
    pairs: int
    verified: int = 0  # near candidates checked on thumbnails


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


def find_groups(
    manifest: pd.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    hash_column: str = "phash",
    workers: int | None = None,
    progress: Progress | None = None,
    pool: Executor | None = None,
) -> Groups:
    """Group every probed row (kept, or excluded by label) that has a hash.

    Exact pairs (same sha256 or decoded pixels) join directly. Near candidates (pHash, or the
    pHash of one against the mirror's of the other, within ``threshold``) join only when
    ``verify`` finds the same photo on their thumbnails; a row without a thumbnail (a manifest
    written before thumbnails existed) keeps the plain pHash rule."""
    cand = manifest[manifest["status"].isin(PROBED) & manifest[hash_column].notna()]
    idx = cand.index.to_numpy()
    n = len(idx)
    exact = [_same_value_pairs(pd.factorize(cand[c])[0]) for c in ("sha256", "pixel_sha256")]
    exact_pairs = np.concatenate(exact) if n else np.empty((0, 2), np.int64)
    near = (_verified_near(cand, threshold, hash_column, workers, progress, pool)
            if n > 1 else _NO_EDGES)  # fmt: skip
    pairs = np.concatenate([exact_pairs, near.pairs]) if n else exact_pairs
    pairs = unique_pairs(pairs)
    from scipy.sparse import coo_matrix  # scipy costs ~0.15 s to import: only when grouping
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    grouped = sizes[comp] > 1
    member = pd.DataFrame({"row": idx[grouped], "comp": comp[grouped]})
    best_score, best_kind = _best_edges(n, exact_pairs, near)
    member["score"] = best_score[grouped]
    member["edge_kind"] = best_kind[grouped]
    return _describe(manifest, member, hash_column, len(pairs), near.checked)


@dataclass(frozen=True)
class _Near:
    pairs: np.ndarray  # (k, 2) positions, verified (or unverifiable legacy) near pairs
    score: np.ndarray
    kind: np.ndarray  # near, mirror, crop
    checked: int  # candidate pairs looked at


_NO_EDGES = _Near(np.empty((0, 2), np.int64), np.empty(0), np.empty(0, dtype=object), 0)


def _verified_near(
    cand: pd.DataFrame,
    threshold: int,
    hash_column: str,
    workers: int | None,
    progress: Progress | None = None,
    pool: Executor | None = None,
) -> _Near:
    from medata.dedupe.verify import verify_many

    h = hex_to_u64(cand[hash_column].tolist())
    n = len(h)
    mirrored = np.empty((0, 2), np.int64)
    mirror_col = cand["phash_mirror"] if "phash_mirror" in cand.columns else None
    if mirror_col is not None and mirror_col.notna().all():
        # One search over both hash sets: pairs within the first half are the plain candidates,
        # pairs across the halves the mirrored ones (pairs i < j come sorted).
        both = np.concatenate([h, hex_to_u64(mirror_col.tolist())])
        found = nearest_pairs(both, threshold, NEAREST, images=n)
        straight = found[found[:, 1] < n]
        mp = found[found[:, 1] >= n]
        mp[:, 1] -= n
        mirrored = unique_pairs(np.sort(mp[mp[:, 0] != mp[:, 1]], axis=1))
    else:
        straight = nearest_pairs(h, threshold, NEAREST)
    thumbs = cand["thumb"].tolist() if "thumb" in cand.columns else [None] * n
    has = np.array([isinstance(t, bytes) and len(t) == SIZE * SIZE for t in thumbs])
    with_thumb = np.flatnonzero(has)  # ascending: row k's thumbnail is stack[searchsorted(k)]
    stack = np.frombuffer(b"".join(thumbs[k] for k in with_thumb), dtype=np.uint8)  # type: ignore[misc]
    stack = stack.reshape(len(with_thumb), SIZE, SIZE)
    viewed, view_mirror, view_start = _view_pairs(stack, with_thumb, progress, pool, workers)
    pairs = unique_pairs(np.concatenate([straight, mirrored, viewed]))
    if len(pairs) == 0:
        return _NO_EDGES
    # How to register each pair: 0 as they are, 1 mirrored (pHash said which way round), 2 try
    # both, 3 from where the view search says the transform is (a zoom, a shift, a turn).
    how = _membership(pairs, straight) + 2 * _membership(pairs, mirrored)
    how = np.where(how == 1, 0, np.where(how == 2, 1, 2))
    at_view = np.searchsorted(_keys(viewed), _keys(pairs))
    in_view = _membership(pairs, viewed).astype(bool)
    how[in_view] = 3
    settled = np.zeros(len(pairs), dtype=bool)
    for c in ("sha256", "pixel_sha256"):  # already joined as exact: nothing to verify
        codes = pd.factorize(cand[c])[0]
        settled |= (codes[pairs[:, 0]] == codes[pairs[:, 1]]) & (codes[pairs[:, 0]] >= 0)
    # Frames of two different CK+ sequences are two recordings (another expression, another
    # subject): never near duplicates, however alike they look (exact copies joined above).
    settled |= _other_sequence(cand, pairs)
    pairs, how, at_view = pairs[~settled], how[~settled], at_view[~settled]
    checkable = has[pairs[:, 0]] & has[pairs[:, 1]]
    # Legacy rows without thumbnails keep the plain pHash rule, never a mirror-only match.
    keep = ~checkable & (how != 1)
    score = np.full(len(pairs), np.nan)
    kind = np.full(len(pairs), "near", dtype=object)
    todo = np.flatnonzero(checkable)
    if len(todo):
        if progress is not None:
            progress.stage("verify", len(todo))
        at = np.searchsorted(with_thumb, pairs)  # checkable pairs: both ends have one
        for way in (0, 1, 2, 3):
            sel = todo[how[todo] == way]
            if len(sel) == 0:
                continue
            hint = None if way == 2 else np.full(len(sel), way == 1)
            start = None
            if way == 3:
                hint, start = view_mirror[at_view[sel]], view_start[at_view[sel]]
            v = verify_many(stack, stack, hint, workers,
                            progress.advance if progress is not None else None, start, pool,
                            at=(at[sel, 0], at[sel, 1]))  # fmt: skip
            score[sel], kind[sel], keep[sel] = np.round(v.score, 4), v.kind(), v.same
    return _Near(pairs[keep], score[keep], kind[keep], len(todo))


def _other_sequence(cand: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Pairs whose two files are named as frames of different CK+ sequences (see
    ``medata.ckplus``)."""
    if "source_path" not in cand.columns or len(pairs) == 0:
        return np.zeros(len(pairs), dtype=bool)
    codes = pd.factorize(cand["source_path"].map(sequence_of))[0]  # -1: not a CK+ name
    first, second = codes[pairs[:, 0]], codes[pairs[:, 1]]
    return (first >= 0) & (second >= 0) & (first != second)


def _keys(pairs: np.ndarray) -> np.ndarray:
    return pairs[:, 0].astype(np.int64) * (1 << 32) + pairs[:, 1]


def _view_pairs(
    stack: np.ndarray,
    rows: np.ndarray,
    progress: Progress | None,
    pool: Executor | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates of the view search (re-cropped, zoomed, turned copies) among the rows with a
    thumbnail (``rows``, ascending; ``stack`` their thumbnails): sorted position pairs, whether
    the match was mirrored, and where to start registering each pair. On ``pool`` when given
    (the same result)."""
    from medata.dedupe.views import search

    if len(rows) < 2:
        return np.empty((0, 2), np.int64), np.empty(0, bool), np.empty((0, 4))
    if progress is not None:
        progress.stage("views", len(rows))
    found = search(stack, advance=progress.advance if progress is not None else None,
                   pool=pool, workers=workers)  # fmt: skip
    # rows is ascending, so the pairs stay sorted and each start keeps its direction.
    return rows[found.pairs], found.mirrored, found.start


def _membership(pairs: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """1 where a row of ``pairs`` is also a row of ``subset`` (both sorted, unique), else 0."""
    if len(subset) == 0:
        return np.zeros(len(pairs), dtype=np.int64)
    return np.isin(_keys(pairs), _keys(subset)).astype(np.int64)


def _best_edges(n: int, exact: np.ndarray, near: _Near) -> tuple[np.ndarray, np.ndarray]:
    """Per position: the best score of an edge that touches it (exact edges score 1.0), and the
    kind of its best near edge (``near`` when it has only exact edges)."""
    score = np.full(n, np.nan)
    kind = np.full(n, "near", dtype=object)
    order = np.argsort(np.nan_to_num(near.score, nan=-1.0), kind="stable")  # best written last
    for col in (0, 1):
        score[near.pairs[order, col]] = near.score[order]
        kind[near.pairs[order, col]] = near.kind[order]
    for col in (0, 1):
        score[exact[:, col]] = 1.0
    return score, kind


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
              n_pairs: int, checked: int = 0) -> Groups:  # fmt: skip
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
    group_kind = member["group"].map(table.set_index("group")["kind"])
    member["kind"] = np.where(group_kind == "exact", "exact", member["edge_kind"])
    low = member.groupby("group")["score"].min()
    table["min_score"] = table["group"].map(low).round(4)
    out = member.drop(columns=["comp", "sort_key", "edge_kind"])
    return Groups(out, table, n_pairs, checked)


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
