"""Candidates for re-cropped, zoomed and rotated copies: a search over views of each thumbnail.

A copy cropped to 80-92% of a photo at a random offset, or turned by a few degrees, moves every
pixel, so its pHash is far from the original's. Instead, each image is described by a blurred,
normalised 12x12 grid of the central 70% of its 48x48 thumbnail (the *key*), and each image also
looks at itself through ``views``: the same window zoomed in (82% and 90%, on a grid of offsets
5% apart, covering the whole range a crop can move), turned by -8 and +8 degrees, and mirrored.
When B is a crop of A, one of A's zoomed views frames what B's key frames, so the two grids
agree (cosine >= ``THRESHOLD``) although the pictures as a whole do not. Every image is also
keyed by its mirror image, so that a mirrored copy that is also re-cropped or turned is found by
the same views.

The search is exact in what it scores and approximate only in where it looks: keys are cut to
``_DIMS`` principal components and grouped into lists by spherical k-means (an inverted file);
every view looks in the ``_PROBES`` lists whose centres it is nearest to. Above ``_TREE_FROM``
images the lists sit under a first level of centres, so that a view compares itself with a few
thousand keys and centres instead of ~sqrt(n) centres and 3 lists of ~sqrt(n) keys. Everything
is deterministic: fixed starts, fixed chunks and blocks, no random state. What is found here
are only candidates: ``medata.dedupe.verify`` decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from medata.dedupe.verify import blur_matrix
from medata.probe import THUMB

GRID = 12  # key and views: GRID x GRID samples
WINDOW = 0.70  # the key frames the central 70% of the thumbnail
BLUR = 1.0  # sigma in thumbnail pixels before sampling
ZOOMS = (0.82, 0.90)  # window sizes of the zoomed views, relative to the key's
STEP = 0.05  # offsets of the zoomed views, as a fraction of the thumbnail
ANGLES = (-8.0, 8.0)  # turned views, degrees
THRESHOLD = 0.90  # cosine of the best view against a key, calibrated in bench/bench_near.py
TOP = 2  # at most this many view candidates per image (its best partners)
TOP_MIRRORED = 1  # and this many more found through the other image's mirror
_DIMS = 48  # principal components kept for the search
_PROBES = 3  # lists each view looks in
_CHUNK = 2048  # images per step of the search
_COMPACT = 4_000_000  # matches held before they are cut down to each image's best
_KMEANS_SAMPLE = 20_000
# A pool (local or Dask) searches at most this many images: each part carries every key (48
# floats an image), so at a million images the parts in flight and their copies in the workers
# held ~4 GB more than searching in one process (6.4 GB in all, 748 s on two workers of this
# two-core machine); up to here they cost under ~0.5 GB. Beyond, threads of this process share
# one index (see ``_threaded``).
_POOLED = 250_000
# Beyond this many images the lists sit under a first level of centres (see ``_index``).
_TREE_FROM = _POOLED
_LEAF = 256  # keys per list under the first level, about
_TOPS_PROBED = 3
_LEAF_PROBES = 2
_ROW_BEST = 2  # under the first level, a view keeps at most this many keys of a list
# With one level, at most this many: more only where many keys are alike (near-identical
# frames), where any few of them link the view's image to the rest. No view of the real
# archive matched more than 64 keys of a list, 7 of 30,000 of bench_views' set did: both give
# the same result with and without the cap; among the 48,792 generated faces 20,188 views of
# drawn look-alikes did, and 102,868 of the 102,871 pairs stay.
_ROW_CAP = 64
_CELLS = 1 << 22  # cosines of views against one list's keys computed at once (16 MB)
_ARGMAX_PASSES = 4  # up to this many best keys a view, found by passes of argmax
_BLOCK = 4 * _CHUNK  # images matched list by list together under the first level
_KMEANS_ROUNDS = 6
_FLAT = 0.1 * GRID  # the norm of a window whose grid varies by ~0.1 grey level


@dataclass(frozen=True)
class View:
    size: float  # side of the window, fraction of the thumbnail
    dx: float  # centre offset, fraction of the thumbnail
    dy: float
    angle: float  # degrees
    mirror: bool


def views() -> list[View]:
    """The key's own window first, then its mirror, the zoomed grid and the turned views."""
    out = [View(WINDOW, 0.0, 0.0, 0.0, False), View(WINDOW, 0.0, 0.0, 0.0, True)]
    for zoom in ZOOMS:
        reach = (1 - zoom) / 2
        n = int(round(2 * reach / STEP)) + 1
        offsets = np.linspace(-reach, reach, n)
        out += [View(WINDOW * zoom, float(dx), float(dy), 0.0, False)
                for dy in offsets for dx in offsets]  # fmt: skip
    out += [View(WINDOW, 0.0, 0.0, a, False) for a in ANGLES]
    return out


VIEWS = views()
MIRROR_VIEW = 1
# A match's view code: the view, plus this when the key it matched was the other image's
# mirror (every image is keyed both ways round: a view of A that frames what B's mirror image
# frames finds a mirrored crop or a mirrored turn).
_KEY_MIRRORED = 64


def _sampler(view_list: list[View]) -> sparse.csr_matrix:
    """(V * GRID * GRID, 48 * 48): bilinear taps of every view's grid, clamped to the edge."""
    g = (np.arange(GRID) + 0.5) / GRID - 0.5
    rows, cols, wts = [], [], []
    for k, v in enumerate(view_list):
        xs, ys = np.meshgrid(g * v.size, g * v.size)
        if v.mirror:
            xs = -xs
        c, s = np.cos(np.radians(v.angle)), np.sin(np.radians(v.angle))
        x = np.clip(((c * xs - s * ys + v.dx + 0.5) * THUMB - 0.5).ravel(), 0, THUMB - 1.000001)
        y = np.clip(((s * xs + c * ys + v.dy + 0.5) * THUMB - 0.5).ravel(), 0, THUMB - 1.000001)
        x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
        fx, fy = x - x0, y - y0
        row = k * GRID * GRID + np.arange(GRID * GRID)
        for ox, oy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):  # fmt: skip
            rows.append(row)
            cols.append((y0 + oy) * THUMB + x0 + ox)
            wts.append(w)
    shape = (len(view_list) * GRID * GRID, THUMB * THUMB)
    m = sparse.coo_matrix((np.concatenate(wts), (np.concatenate(rows), np.concatenate(cols))),
                          shape=shape)  # fmt: skip
    return m.tocsr().astype(np.float32)


_ALL = _sampler(VIEWS)
_KEY = _sampler(VIEWS[:1])


_BLUR = blur_matrix(THUMB, BLUR)


def _blurred(thumbs: np.ndarray) -> np.ndarray:
    """(THUMB * THUMB, n) float32: each thumbnail blurred by ``BLUR`` (what ``verify._blur``
    gives, up to float rounding), one column per image: the layout the samplers multiply.
    Two passes of matrix products over all images at once, no transposed copy of floats."""
    n = len(thumbs)
    x = np.ascontiguousarray(thumbs.transpose(1, 2, 0)).astype(np.float32)  # (y, x, n)
    x = (_BLUR @ x.reshape(THUMB, THUMB * n)).reshape(THUMB, THUMB, n)  # blurred along y
    return np.matmul(_BLUR[None], x).reshape(THUMB * THUMB, n)  # and along x, per row


def key_vectors(thumbs: np.ndarray) -> np.ndarray:
    """(n, 48, 48) uint8 thumbnails -> (n, GRID*GRID) keys: the blurred grid of each one's
    window (view 0), less its mean, made unit. A window without texture (spread under ~0.1
    grey level) has no direction: zero, so that it matches nothing instead of its rounding
    noise matching anything. Every other view is defined the same way (see ``project``)."""
    out = np.asarray(_KEY @ _blurred(thumbs)).T
    out -= out.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.where(norm > _FLAT, out / np.maximum(norm, _FLAT), 0.0).astype(np.float32)


def project(thumbs: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Every view of ``VIEWS`` (each defined as ``key_vectors`` defines the key) projected on
    ``basis`` (GRID*GRID, d) and made unit: (n, V, d), without building the (n, V, GRID*GRID)
    views: they are zero-mean, so their projection is that of the sampled values less their
    mean's, and the flat test needs only the spread, sum(x^2) - sum(x)^2 / k. Each thumbnail's
    own mean is taken out first (sampling weights sum to one, so no view changes), which keeps
    that difference accurate in float32. Sampled as (V, k, n) blocks and projected per view:
    no transposed copy of them."""
    n, k = len(thumbs), GRID * GRID
    blurred = _blurred(thumbs)
    blurred -= blurred.mean(axis=0, keepdims=True)
    x = (_ALL @ blurred).reshape(len(VIEWS), k, n)
    s1 = x.sum(axis=1)  # (V, n)
    spread = np.einsum("vkn,vkn->vn", x, x) - s1 * s1 / k
    p = np.matmul(basis.T[None], x)  # (V, d, n)
    p -= basis.sum(axis=0)[None, :, None] * (s1 / k)[:, None, :]
    p = np.ascontiguousarray(p.transpose(2, 0, 1))  # (n, V, d)
    norm = np.linalg.norm(p, axis=2)
    ok = (spread.T > _FLAT * _FLAT) & (norm > 1e-6 * np.sqrt(np.maximum(spread.T, 0.0)))
    return np.where(ok[:, :, None], p / np.maximum(norm, 1e-30)[:, :, None], 0.0).astype(np.float32)


@dataclass(frozen=True)
class Found:
    pairs: np.ndarray  # (k, 2) positions i < j
    cosine: np.ndarray  # best view's cosine (in the search space)
    mirrored: np.ndarray  # bool: the best view was the mirror
    start: np.ndarray  # (k, 4) where registration of the pair starts (see ``_starts``)


_NOTHING = Found(
    np.empty((0, 2), np.int64), np.empty(0, np.float32), np.empty(0, bool), np.empty((0, 4))
)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norm > 1e-6, x / np.maximum(norm, 1e-6), 0.0).astype(np.float32)


def _basis(sample: np.ndarray) -> np.ndarray:
    """Principal directions of a sample of keys (uncentred: cosines between keys are kept)."""
    _, _, vt = np.linalg.svd(sample.astype(np.float64), full_matrices=False)
    dims = min(_DIMS, vt.shape[0])
    return vt[:dims].T.astype(np.float32)


def _centres(keys: np.ndarray, lists: int) -> np.ndarray:
    """Spherical k-means from evenly spaced starts on an evenly spaced sample."""
    step = max(1, len(keys) // _KMEANS_SAMPLE)
    sample = keys[::step]
    centres = sample[np.linspace(0, len(sample) - 1, lists).astype(np.int64)].copy()
    for _ in range(_KMEANS_ROUNDS):
        nearest = np.argmax(sample @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, nearest, sample)
        empty = ~np.any(sums, axis=1)
        sums[empty] = centres[empty]
        centres = _unit(sums)
    return centres


@dataclass(frozen=True)
class _Index:
    """Where to look: the keys in the search space grouped into lists, and how views get there
    (what every part of the search needs besides its own thumbnails).

    Lists sit under ``tops``: one top (every list under it) up to ``_TREE_FROM`` images, a
    first level of centres above that (see ``_index``). List ``t * side + s`` is list ``s``
    under top ``t``; its keys are ``keys[bounds[l] : bounds[l + 1]]``, at ``order[...]``."""

    basis: np.ndarray  # (GRID*GRID, d) principal directions
    tops: np.ndarray  # (T, d) first-level centres (T == 1: one level)
    subs: np.ndarray  # (T, side, d) the lists' centres under each top (zero past count)
    count: np.ndarray  # (T,) lists under each top
    keys: np.ndarray  # (2n, d) unit, list by list: every image's key, and its mirror's
    order: np.ndarray  # their positions (n + i: image i's mirror)
    bounds: np.ndarray  # (T * side + 1,)
    tops_probed: int  # tops each view goes down
    probes: int  # lists each view looks in under each of them
    row_best: int | None  # a view keeps at most this many keys of each list (None: all)
    block: int  # images whose views are matched list by list together
    images: int  # n: key n + i is image i's mirror


def search(
    thumbs: np.ndarray,
    threshold: float = THRESHOLD,
    top: int | None = None,
    advance: Callable[[int], None] | None = None,
    lists: int | None = None,
    pool: Executor | None = None,
    workers: int | None = None,
) -> Found:
    """Pairs whose best view-to-key cosine is >= ``threshold``, at most ``top`` (default
    ``TOP``) per image, and ``TOP_MIRRORED`` more found through the other image's mirror.

    ``thumbs``: (n, 48, 48) uint8 (a memory-mapped array is read a chunk at a time). Memory:
    the keys (n x 48 floats) and a few chunks of views. ``lists``: how many lists the keys are
    cut into (default about sqrt(n); 1 scans every key for every view, the exact oracle).

    Up to ``_POOLED`` images, with ``pool`` (a started process pool, or a Dask cluster's
    ``ClusterMap``) the views are matched in parts there, ``workers`` at a time, each part
    carrying the keys: the same result as here (each part keeps its images' best matches, and
    a cut of parts keeps what one cut keeps). Beyond, every part would carry a copy of the
    keys: the work runs on ``workers`` threads of this process instead (default one per core),
    which share them (numpy's matrix products let go of the interpreter's lock), or, given a
    Dask cluster's ``ClusterMap``, on its workers, each sent the index once."""
    n = len(thumbs)
    top = TOP if top is None else top
    if n < 2:
        return _NOTHING
    if n > _POOLED:
        from medata.cluster import ClusterMap

        cluster = pool if isinstance(pool, ClusterMap) else None
        threads = workers or os.cpu_count() or 1
        return _threaded(thumbs, threshold, top, advance, lists, threads, cluster)
    index = _index(thumbs, lists)
    workers = 1 if pool is None else (workers or os.cpu_count() or 1)
    parts = _parts(n, workers)
    jobs = ((index, thumbs[a:b], a, threshold, top) for a, b in parts)
    if pool is None or len(parts) < 2:
        results: Iterator[tuple[tuple[np.ndarray, ...], int]] = map(_match_job, jobs)
    else:
        from medata.cluster import in_order

        results = in_order(pool, _match_job, jobs, workers + 1)
    return _collect(results, top, advance)


def _collect(
    results: Iterable[tuple[tuple[np.ndarray, ...], int]],
    top: int,
    advance: Callable[[int], None] | None,
) -> Found:
    kept = _Kept(top)
    for matches, count in results:
        kept.add(*matches)
        if advance is not None:
            advance(count)
    return _found(*kept.result())


def _threaded(
    thumbs: np.ndarray,
    threshold: float,
    top: int,
    advance: Callable[[int], None] | None,
    lists: int | None,
    threads: int,
    cluster: Any = None,
) -> Found:
    """The index built on ``threads`` threads of this process, each matrix product on one core;
    the views matched there too, sharing it, or with ``cluster`` (a ``ClusterMap``) on the Dask
    cluster, where the index is sent to each worker once (scattered) and every part names it."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from medata.cluster import in_order

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        index = _index(thumbs, lists, pool=pool, window=threads + 1)
        n, step = len(thumbs), index.block
        if cluster is None:
            jobs = ((index, thumbs[a : a + step], a, threshold, top) for a in range(0, n, step))
            return _collect(in_order(pool, _match_job, jobs, threads + 1), top, advance)
    shared = cluster.client.scatter(index, broadcast=True)
    try:
        jobs = ((shared, thumbs[a : a + step], a, threshold, top) for a in range(0, n, step))
        return _collect(in_order(cluster, _match_job, jobs, 0), top, advance)
    finally:
        cluster.client.cancel(shared)


def _index(
    thumbs: np.ndarray, lists: int | None, pool: Executor | None = None, window: int = 2
) -> _Index:
    """The keys, their principal directions, and the lists. Up to ``_TREE_FROM`` images (or
    with ``lists`` given) one level of about sqrt(n) lists, ``_PROBES`` looked in by each view.
    Beyond, the keys are first cut into ``side`` tops by spherical k-means and each top's keys
    into up to ``side`` lists of about ``_LEAF`` keys: a view compares itself with the tops,
    then with the lists under its ``_TOPS_PROBED`` nearest, and scans its ``_LEAF_PROBES``
    nearest lists under each (``_ROW_BEST`` best keys kept of each). At a million images that
    is ~1,700 keys and centres a view, where one level would need ~4,000."""
    n = len(thumbs)
    chunks = (thumbs[k : k + _CHUNK] for k in range(0, n, _CHUNK))
    if pool is None:
        described: Iterable[np.ndarray] = map(_both_keys, chunks)
    else:
        from medata.cluster import in_order

        described = in_order(pool, _both_keys, chunks, window)
    step = max(1, n // _KMEANS_SAMPLE)
    if lists is None and n > _TREE_FROM:
        # The principal directions from an evenly spaced sample first, then each chunk's keys
        # projected as they come: the full keys (144 floats an image) are never all held.
        sample = [key_vectors(np.asarray(thumbs[k : k + _CHUNK * step : step]))
                  for k in range(0, n, _CHUNK * step)]  # fmt: skip
        basis = _basis(np.concatenate(sample))
        keys = _mirrored_last([_unit(k @ basis) for k in described])
    else:
        keys_full = _mirrored_last(list(described))
        basis = _basis(keys_full[:n:step])
        keys = _unit(keys_full @ basis)
        del keys_full
    # Each image's key and its mirror's. The lists are cut from the keys as they are (the
    # mirrors join the list they are nearest to): the lists, and what a view finds among the
    # keys as they are, do not change with the mirrors.
    m = len(keys)
    if lists is not None or n <= _TREE_FROM:
        side = lists or int(np.clip(round(np.sqrt(n)), 1, 4096))
        tops, top = np.zeros((1, keys.shape[1]), np.float32), np.zeros(m, np.int64)
        probing: tuple[int, int, int | None, int] = (1, max(1, min(_PROBES, side)), None, _CHUNK)
    else:
        side = int(np.clip(np.ceil(np.sqrt(n / _LEAF)), 1, 256))
        tops = _centres(keys[:n], side)
        top = np.concatenate([np.argmax(keys[k : k + 65536] @ tops.T, axis=1)
                              for k in range(0, m, 65536)])  # fmt: skip
        probing = (min(_TOPS_PROBED, side), _LEAF_PROBES, _ROW_BEST, _BLOCK)
    subs = np.zeros((len(tops), side, keys.shape[1]), np.float32)
    count = np.zeros(len(tops), np.int64)
    leaf = np.empty(m, np.int64)
    by_top = np.argsort(top, kind="stable")
    cut = np.searchsorted(top[by_top], np.arange(len(tops) + 1))
    for t in range(len(tops)):
        members = by_top[cut[t] : cut[t + 1]]
        if len(members) == 0:
            continue
        plain = members[members < n]
        cutting = keys[plain] if len(plain) else keys[members]  # (ascending: as before)
        count[t] = k = min(side, len(cutting))
        subs[t, :k] = _centres(cutting, k)
        under = keys if len(tops) == 1 else keys[members]
        leaf[members] = t * side + np.argmax(under @ subs[t, :k].T, axis=1)
    order = np.argsort(leaf, kind="stable")
    bounds = np.searchsorted(leaf[order], np.arange(len(tops) * side + 1))
    return _Index(basis, tops, subs, count, np.ascontiguousarray(keys[order]), order, bounds,
                  *probing, images=n)  # fmt: skip


def _both_keys(thumbs: np.ndarray) -> np.ndarray:
    """(2, b, GRID*GRID): the keys of ``thumbs`` and of their mirror images."""
    thumbs = np.asarray(thumbs)
    return np.stack([key_vectors(thumbs), key_vectors(np.ascontiguousarray(thumbs[:, :, ::-1]))])


def _mirrored_last(parts: list[np.ndarray]) -> np.ndarray:
    """Chunks of (2, b, d) keys -> (2n, d): every image's key, then every mirror's (key
    ``n + i`` is image i mirrored)."""
    return np.concatenate([p[0] for p in parts] + [p[1] for p in parts])


def _parts(n: int, workers: int) -> list[tuple[int, int]]:
    """Consecutive runs of whole chunks (a chunk's views never depend on how the work is cut):
    one chunk each on one worker (progress as it goes), else about four parts per worker."""
    chunks = -(-n // _CHUNK)
    per = 1 if workers <= 1 else max(1, -(-chunks // (4 * workers)))
    return [(k * _CHUNK, min(n, (k + per) * _CHUNK)) for k in range(0, chunks, per)]


def _match_job(job: tuple[Any, ...]) -> tuple[tuple[np.ndarray, ...], int]:
    """The best matches (see ``_Kept``) of the views of ``thumbs`` (the images from ``first``
    on) against every key, and how many images that was."""
    index, thumbs, first, threshold, top = job
    kept = _Kept(top)
    nv, d = len(VIEWS), index.basis.shape[1]
    for start in range(0, len(thumbs), index.block):
        end = min(len(thumbs), start + index.block)
        if end - start <= _CHUNK:
            q, leaves = _described(thumbs[start:end], index)
        else:  # filled chunk by chunk: no second copy of the block's views
            q = np.empty(((end - start) * nv, d), np.float32)
            leaves = np.empty(((end - start) * nv, index.tops_probed * index.probes), np.int32)
            for s in range(start, end, _CHUNK):
                at = slice((s - start) * nv, (min(end, s + _CHUNK) - start) * nv)
                q[at], leaves[at] = _described(thumbs[s : min(end, s + _CHUNK)], index)
        _scan(q, leaves, index, threshold, first + start, kept, top)
    return kept.result(), len(thumbs)


def _described(thumbs: np.ndarray, index: _Index) -> tuple[np.ndarray, np.ndarray]:
    """Every view of ``thumbs`` (b * V, d), and the lists each looks in (b * V, k), -1 for
    none."""
    q = project(np.asarray(thumbs), index.basis)  # (b, V, d), unit
    q = q.reshape(-1, q.shape[2])
    return q, _lists_of(q, index)


def _lists_of(q: np.ndarray, index: _Index) -> np.ndarray:
    """The lists each view looks in: its nearest tops, and under each its nearest lists."""
    n_tops, side = len(index.tops), index.subs.shape[1]
    if n_tops == 1:
        near = np.zeros((len(q), 1), np.int64)
    else:
        near = _nearest(q @ index.tops.T, index.tops_probed, copy=False)
    per = index.probes
    out = np.full((len(q) * near.shape[1], per), -1, np.int32)
    flat = near.ravel()
    by_top = np.argsort(flat, kind="stable")
    cut = np.searchsorted(flat[by_top], np.arange(n_tops + 1))
    for t in range(n_tops):
        rows = by_top[cut[t] : cut[t + 1]]
        k = int(index.count[t])
        if len(rows) == 0 or k == 0:
            continue
        views_here = q if n_tops == 1 else q[rows // near.shape[1]]
        best = _nearest(views_here @ index.subs[t, :k].T, min(per, k), copy=False)
        out[rows, : best.shape[1]] = t * side + best
    return out.reshape(len(q), -1)


def _scan(
    q: np.ndarray,
    leaves: np.ndarray,
    index: _Index,
    threshold: float,
    first: int,
    kept: _Kept,
    top: int,
) -> None:
    """Every view against the keys of the lists it looks in, list by list; matches to ``kept``
    (image ``first + view // V``). A view keeps at most ``index.row_best`` keys of a list
    (``_ROW_CAP`` with one level), and never fewer than ``top`` (an image's best pairs may all
    be in one list)."""
    nv = len(VIEWS)
    best = max(_ROW_CAP if index.row_best is None else index.row_best, top)
    flat_list = leaves.ravel()
    flat_query = np.repeat(np.arange(len(q), dtype=np.int32), leaves.shape[1])
    if (flat_list < 0).any():
        flat_query, flat_list = flat_query[flat_list >= 0], flat_list[flat_list >= 0]
    by_list = np.argsort(flat_list, kind="stable")
    flat_list, flat_query = flat_list[by_list], flat_query[by_list]
    starts = np.flatnonzero(np.r_[True, flat_list[1:] != flat_list[:-1]])
    ends = np.r_[starts[1:], len(flat_list)]
    for s0, s1 in zip(starts.tolist(), ends.tolist(), strict=True):
        b0, b1 = index.bounds[flat_list[s0]], index.bounds[flat_list[s0] + 1]
        if b1 == b0:
            continue
        mirrored, image = np.divmod(index.order[b0:b1], index.images)  # key n + i: i mirrored
        keys = index.keys[b0:b1]
        # A list of near-identical keys (a burst of frames) is scanned a block of views at a
        # time: the cosines held stay under _CELLS however many views look in it.
        step = max(1, _CELLS // int(b1 - b0))
        for r0 in range(s0, s1, step):
            qs = flat_query[r0 : min(s1, r0 + step)]
            cos = q[qs] @ keys.T
            # Most views match nothing here: find the rows that do from their maxima (one
            # cheap pass), and look for the matches only in those rows.
            rows = np.flatnonzero(cos.max(axis=1) >= threshold)
            if len(rows) == 0:
                continue
            hits = cos[rows]
            viewer = first + qs[rows] // nv
            hits[image[None, :] == viewer[:, None]] = -np.inf  # an image against its own keys
            ri, mj, score = _hits(hits, threshold, best)
            qi = qs[rows[ri]].astype(np.int64)
            kept.add(first + qi // nv, image[mj], score, qi % nv + _KEY_MIRRORED * mirrored[mj])


def _hits(cos: np.ndarray, threshold: float, best: int | None) -> tuple[np.ndarray, ...]:
    """(row, column, cosine) of the entries >= ``threshold``; with ``best``, of each row's
    ``best`` highest only: a few passes of argmax for a few (ties to the first column), else
    the rows holding more than ``best`` cut by argpartition (of equal cosines at the cut, the
    same ones every run). Overwrites ``cos``."""
    if best is None or best >= cos.shape[1]:
        ri, mj = np.nonzero(cos >= threshold)
        return ri, mj, cos[ri, mj]
    if best <= _ARGMAX_PASSES:
        rows = np.arange(len(cos))
        found = []
        for _ in range(best):
            col = np.argmax(cos, axis=1)
            score = cos[rows, col]
            ok = score >= threshold
            found.append((rows[ok], col[ok], score[ok]))
            cos[rows, col] = -np.inf
    else:
        over = cos >= threshold
        many = np.flatnonzero(np.count_nonzero(over, axis=1) > best)  # rows of look-alikes
        over[many] = False
        ri, mj = np.nonzero(over)
        found = [(ri, mj, cos[ri, mj])]
        if len(many):
            top = np.argpartition(cos[many], cos.shape[1] - best, axis=1)[:, -best:]
            found.append((np.repeat(many, best), top.ravel(), cos[many[:, None], top].ravel()))
    ri, mj, score = (np.concatenate(c) for c in zip(*found, strict=True))
    return ri, mj, score


def _nearest(scores: np.ndarray, k: int, copy: bool = True) -> np.ndarray:
    """Columns of the k highest scores of each row (k passes of argmax: much faster than a
    partition for a few of some hundred columns; ties go to the first column). With
    ``copy=False`` the scores are overwritten."""
    scores = scores.copy() if copy else scores
    rows = np.arange(len(scores))
    out = np.empty((len(scores), k), dtype=np.int64)
    for c in range(k):
        out[:, c] = np.argmax(scores, axis=1)
        scores[rows, out[:, c]] = -np.inf
    return out


class _Kept:
    """The matches found so far, cut down to what ``_select`` would keep whenever they pile up:
    each image's ``top`` best pairs depend only on matches touching it, and a best-``top`` cut
    of a part loses nothing the cut of the whole keeps (what falls out of a part has ``top``
    better pairs at both ends there already), so memory stays bounded however many copies of a
    photo there are, and the result is that of one cut at the end."""

    def __init__(self, top: int, compact_at: int | None = None) -> None:
        self.top = top
        self.compact_at = _COMPACT if compact_at is None else compact_at
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.buffered = 0

    def add(self, i: np.ndarray, j: np.ndarray, cos: np.ndarray, view: np.ndarray) -> None:
        # Held as 4 + 4 + 4 + 1 bytes a match (positions under 2**31, 38 views).
        held = (i.astype(np.int32, copy=False), j.astype(np.int32, copy=False),
                cos.astype(np.float32, copy=False), view.astype(np.int8, copy=False))  # fmt: skip
        self.parts.append(held)
        self.buffered += len(i)
        if self.buffered > self.compact_at:
            selected = self.result()
            self.parts, self.buffered = [selected], len(selected[0])
            self.compact_at = max(self.compact_at, 2 * self.buffered)

    def result(self) -> tuple[np.ndarray, ...]:
        """The cut, made apart for matches with keys as they are and with mirrored keys: an
        image keeps its ``top`` best pairs of the first and its ``TOP_MIRRORED`` best of the
        second. (Faces are nearly symmetric: an image's mirror resembles many faces about as
        much as a re-cropped copy resembles its photo, and those matches must not take the
        places of the copies.)"""
        if not self.parts:
            return tuple(np.empty(0, t) for t in (np.int32, np.int32, np.float32, np.int8))
        i, j, cos, view = (np.concatenate(c) for c in zip(*self.parts, strict=True))
        plain = view < _KEY_MIRRORED
        if plain.all():
            return _select(i, j, cos, view, self.top)
        cuts = (
            _select(i[plain], j[plain], cos[plain], view[plain], self.top),
            _select(i[~plain], j[~plain], cos[~plain], view[~plain], TOP_MIRRORED),
        )
        return tuple(np.concatenate(c) for c in zip(*cuts, strict=True))


def _select(
    i: np.ndarray, j: np.ndarray, cos: np.ndarray, view: np.ndarray, top: int
) -> tuple[np.ndarray, ...]:
    """Matches (view of image i against the key of image j): the best one of each unordered
    pair, and of those each image's ``top`` best pairs (a pair stays when either end keeps it).
    Returned as (i, j, cos, view), best first."""
    keep = i != j
    i, j, cos, view = i[keep], j[keep], cos[keep], view[keep]
    if len(i) == 0:
        return i, j, cos, view
    a, b = np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64)
    pair = a * (int(b.max()) + 1) + b  # in the order of (a, b)
    # Each pair's best match: the highest cosine, then the lowest view, then the first image's
    # view; the pairs best first, ties broken by the pair: the result never depends on the
    # order things were found in. (Two sort keys of one integer each: several times faster
    # than sorting on five.)
    worse = _descending(cos)
    within = (worse << 32) | (view.astype(np.int64) << 1) | (i == b).astype(np.int64)
    order = np.lexsort((within, pair))
    by_pair = pair[order]
    first = order[np.r_[True, by_pair[1:] != by_pair[:-1]]]
    first = first[np.lexsort((pair[first], worse[first]))]
    i, j, a, b, cos, view = i[first], j[first], a[first], b[first], cos[first], view[first]
    ranks = _rank_within(np.stack([a, b], axis=1).ravel()).reshape(-1, 2)
    keep = (ranks < top).any(axis=1)
    return i[keep], j[keep], cos[keep], view[keep]


def _descending(cos: np.ndarray) -> np.ndarray:
    """Integers in the order of decreasing float32 ``cos`` (the bits of -cos, negatives
    flipped so that they count down)."""
    bits = (-cos.astype(np.float32)).view(np.int32).astype(np.int64)
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


def _found(i: np.ndarray, j: np.ndarray, cos: np.ndarray, view: np.ndarray) -> Found:
    """The selected matches as sorted pairs (first < second) with where to register them."""
    if len(i) == 0:
        return _NOTHING
    a, b = np.minimum(i, j), np.maximum(i, j)
    # A pair in both cuts: its best match (then the one with the key as it is).
    order = np.lexsort((view >= _KEY_MIRRORED, _descending(cos), b, a))
    i, a, b, cos, view = i[order], a[order], b[order], cos[order], view[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    i, a, b, cos, view = i[first], a[first], b[first], cos[first], view[first]
    keyed_mirror = view >= _KEY_MIRRORED
    view = view % _KEY_MIRRORED
    return Found(np.stack([a, b], axis=1).astype(np.int64), cos,
                 (view == MIRROR_VIEW) ^ keyed_mirror,
                 _starts(view, viewer_first=i == a, keyed_mirror=keyed_mirror))  # fmt: skip


def _starts(view: np.ndarray, viewer_first: np.ndarray,
            keyed_mirror: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Registration starts for ``verify(thumb[first], thumb[second])``: p = (a, b, tx, ty), with
    x' = (1+a) x - b y + tx, y' = b x + (1+a) y + ty in centred pixels of the second thumbnail.

    A view of image V that matches the key of image K says: K's point u is V's point
    z R u + t (zoom z, turn R, shift t). With K first that is the start; with V first, its
    inverse. Mirrored views are handled by ``verify``'s flip (their z R is the identity). When
    the key was K's mirror (``keyed_mirror``), ``verify`` flips the second image: with V first
    that is K, and the inverse holds as it is; with K first it is V, and the start is the
    transform seen in the mirror, z R(-angle) u + (-tx, ty)."""
    size = np.array([v.size for v in VIEWS])[view]
    angle = np.radians(np.array([v.angle for v in VIEWS])[view])
    shift = np.stack([np.array([v.dx for v in VIEWS])[view],
                      np.array([v.dy for v in VIEWS])[view]], axis=1) * THUMB  # fmt: skip
    z = size / WINDOW
    fwd = np.stack([z * np.cos(angle) - 1, z * np.sin(angle), shift[:, 0], shift[:, 1]], axis=1)
    c, s = np.cos(angle) / z, -np.sin(angle) / z  # the inverse: (1/z) R(-angle) (x - t)
    inv_t = -np.stack([c * shift[:, 0] - s * shift[:, 1], s * shift[:, 0] + c * shift[:, 1]], 1)
    inv = np.stack([c - 1, s, inv_t[:, 0], inv_t[:, 1]], axis=1)
    if keyed_mirror is not None:
        seen = np.stack([fwd[:, 0], -fwd[:, 1], -fwd[:, 2], fwd[:, 3]], axis=1)
        fwd = np.where(keyed_mirror[:, None], seen, fwd)
    return np.where(viewer_first[:, None], inv, fwd)


def _rank_within(group: np.ndarray) -> np.ndarray:
    """Position of each element among the earlier elements with the same value (0, 1, ...)."""
    order = np.argsort(group, kind="stable")
    sorted_g = group[order]
    starts = np.searchsorted(sorted_g, sorted_g, side="left")
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts
    return rank
