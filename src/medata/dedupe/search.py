"""All pairs of 64-bit hashes within a Hamming distance: exact, vectorised, no pair loop.

Multi-index hashing: split the 64 bits into ``m`` chunks. Two hashes within distance ``t`` agree,
in at least one chunk, up to ``t // m`` bits (pigeonhole). For each chunk, every hash looks up
the buckets of all chunk values within that radius in a dense table (``2**bits`` counts), so the
candidates are found by gathers over whole arrays, then verified with a vectorised popcount.
``m`` is chosen by a cost model from the number of hashes and the threshold. ``brute_force_pairs``
is the oracle the tests compare against.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

MAX_CHUNK_BITS = 24  # a dense bucket table of 2**24 int32 counts is 64 MiB


def hex_to_u64(values: list[str] | np.ndarray) -> np.ndarray:
    """16-hex-digit strings -> uint64 array."""
    return np.array([int(v, 16) for v in values], dtype=np.uint64)


def popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).astype(np.int64)


def brute_force_pairs(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Every (i, j), i < j, with distance <= threshold: O(n^2), the test oracle."""
    h = np.asarray(hashes, dtype=np.uint64)
    out = []
    for start in range(0, len(h), 2048):
        block = h[start : start + 2048]
        d = popcount(block[:, None] ^ h[None, :])
        i, j = np.nonzero(d <= threshold)
        i = i + start
        keep = i < j
        out.append(np.stack([i[keep], j[keep]], axis=1))
    return _sorted_pairs(np.concatenate(out) if out else np.empty((0, 2), np.int64))


def _chunks(m: int) -> list[tuple[int, int]]:
    """(shift, bits) of m chunks covering 64 bits, as equal as possible."""
    sizes = [64 // m + (1 if k < 64 % m else 0) for k in range(m)]
    out, shift = [], 0
    for bits in sizes:
        out.append((shift, bits))
        shift += bits
    return out


def _ball(bits: int, radius: int) -> int:
    return sum(math.comb(bits, r) for r in range(radius + 1))


def choose_chunks(n: int, threshold: int) -> int:
    """The chunk count with the fewest expected lookups plus candidates."""
    best_m, best_cost = 0, math.inf
    for m in range(1, max(threshold + 2, 8)):
        sizes = [b for _, b in _chunks(m)]
        if max(sizes) > MAX_CHUNK_BITS:
            continue
        radius = threshold // m
        cost = sum(_ball(b, radius) * (1.0 + n / 2.0**b) for b in sizes)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def _masks(bits: int, radius: int) -> Iterator[int]:
    for r in range(radius + 1):
        for combo in itertools.combinations(range(bits), r):
            yield sum(1 << b for b in combo)


BRUTE_FORCE_BELOW = 512  # under this many hashes, brute force is faster than the tables


def near_pairs(
    hashes: np.ndarray, threshold: int, brute_below: int = BRUTE_FORCE_BELOW
) -> np.ndarray:
    """Every (i, j), i < j, with Hamming distance <= threshold, sorted; shape (k, 2).

    ``brute_below``: inputs up to this size take brute force (tests pass 0 to force the
    multi-index path on small inputs)."""
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h)
    if n < 2:
        return np.empty((0, 2), np.int64)
    m = choose_chunks(n, threshold)
    if m == 0 or n <= brute_below:
        return brute_force_pairs(h, threshold)
    radius = threshold // m
    found: list[np.ndarray] = []
    for shift, bits in _chunks(m):
        found.extend(_chunk_pairs(h, shift, bits, radius, threshold))
    if not found:
        return np.empty((0, 2), np.int64)
    return _sorted_pairs(np.concatenate(found))


def _chunk_pairs(
    h: np.ndarray, shift: int, bits: int, radius: int, threshold: int
) -> Iterator[np.ndarray]:
    """Pairs agreeing on this chunk up to ``radius`` bits. Work happens in chunk-sorted order, so
    the bucket lookups of ``value ^ mask`` walk memory nearly in sequence (cache-friendly)."""
    vals = ((h >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int32)
    order = np.argsort(vals, kind="stable")
    vs, hs = vals[order], h[order]
    counts = np.bincount(vs, minlength=1 << bits).astype(np.int32)
    starts = np.cumsum(counts, dtype=np.int64) - counts
    for mask in _masks(bits, radius):
        keys = vs ^ np.int32(mask)
        c = counts[keys]
        single = np.flatnonzero(c == 1)  # the common case: one hash in the bucket
        i, j = single, starts[keys[single]]
        multi = np.flatnonzero(c > 1)
        if len(multi):
            cm = c[multi].astype(np.int64)
            offset = np.arange(int(cm.sum())) - np.repeat(np.cumsum(cm) - cm, cm)
            i = np.concatenate([i, np.repeat(multi, cm)])
            j = np.concatenate([j, np.repeat(starts[keys[multi]], cm) + offset])
        keep = i < j
        i, j = i[keep], j[keep]
        close = popcount(hs[i] ^ hs[j]) <= threshold
        a, b = order[i[close]], order[j[close]]
        yield np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)


def _sorted_pairs(pairs: np.ndarray) -> np.ndarray:
    if len(pairs) == 0:
        return pairs.astype(np.int64).reshape(0, 2)
    pairs = np.unique(pairs.astype(np.int64), axis=0)
    return pairs
