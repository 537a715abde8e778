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
    return unique_pairs(np.concatenate(out) if out else np.empty((0, 2), np.int64))


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


# Block tables (Manku, Jain, Das Sarma 2007) for large sets at small radii: cut the 64 bits into
# B blocks; two hashes within t bits differ in at most t blocks, so they agree exactly on some
# B - t of them. One table per choice of B - t blocks keys every hash by those blocks' bits;
# equal keys are the candidates. Keys of ~27-32 bits keep buckets near one hash even at 10^8
# hashes, where the chunk tables above (at most 24 bits, looked up with radius) drown in
# candidates. Sorting a packed (key, position) word per table is the whole cost.
BLOCKS_FROM = 4_000_000  # below this many hashes the chunk tables are faster (measured)
_SORT_COST = 2.0  # one hash through one table's sort, in candidate checks (measured at 1M-10M)


def choose_blocks(n: int, threshold: int) -> int:
    """The block count B for block tables, or 0 when the chunk tables are the cheaper plan."""
    if n < BLOCKS_FROM:
        return 0
    position_bits = max(1, (n - 1).bit_length())
    best_b, best_cost = 0, _chunk_cost(n, threshold)
    for b in range(threshold + 1, threshold + 7):
        key_bits = 64 - _widest(b, threshold)
        if key_bits + position_bits > 64:
            continue  # (key, position) must pack into one 64-bit word
        tables = math.comb(b, threshold)
        cost = tables * (n * _SORT_COST + n * n / 2.0 ** (key_bits + 1))
        if cost < best_cost:
            best_b, best_cost = b, cost
    return best_b


def _widest(b: int, threshold: int) -> int:
    """Bits left out of a key at worst: the ``threshold`` widest of ``b`` blocks."""
    return sum(sorted((bits for _, bits in _chunks(b)), reverse=True)[:threshold])


def _chunk_cost(n: int, threshold: int) -> float:
    m = choose_chunks(n, threshold)
    if m == 0:
        return math.inf
    radius = threshold // m
    return sum(_ball(bits, radius) * (n + n * n / 2.0 ** (bits + 1)) for _, bits in _chunks(m))


def _block_pairs(h: np.ndarray, b: int, threshold: int) -> Iterator[np.ndarray]:
    blocks = _chunks(b)
    position_bits = max(1, (len(h) - 1).bit_length())
    positions = np.arange(len(h), dtype=np.uint64)
    for kept in itertools.combinations(range(b), b - threshold):
        key = np.zeros(len(h), dtype=np.uint64)
        for k in kept:
            shift, bits = blocks[k]
            key <<= np.uint64(bits)
            key |= (h >> np.uint64(shift)) & np.uint64((1 << bits) - 1)
        key <<= np.uint64(position_bits)
        key |= positions
        key.sort()
        pos = (key & np.uint64((1 << position_bits) - 1)).astype(np.int64)
        key >>= np.uint64(position_bits)
        same = np.flatnonzero(key[1:] == key[:-1])  # neighbours in a run of equal keys
        del key
        if len(same) == 0:
            continue
        # Runs of equal keys: every two members (runs are short once repeats are collapsed).
        starts = same[np.r_[True, same[1:] != same[:-1] + 1]]
        ends = same[np.r_[same[1:] != same[:-1] + 1, True]] + 2  # exclusive
        size = ends - starts
        count = size * (size - 1) // 2
        run = np.repeat(np.arange(len(starts)), count)
        r = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        i, j = _triangle(size[run], r)
        a, c = pos[starts[run] + i], pos[starts[run] + j]
        close = popcount(h[a] ^ h[c]) <= threshold
        a, c = a[close], c[close]
        yield np.stack([np.minimum(a, c), np.maximum(a, c)], axis=1)


def _triangle(size: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The r-th pair (i < j) of ``size`` items, pairs numbered row by row."""
    total = size * (size - 1) // 2
    i = (size - 1 - np.floor((np.sqrt(8.0 * (total - 1 - r) + 1) - 1) / 2)).astype(np.int64) - 1
    j = r - (i * (2 * size - i - 1)) // 2 + i + 1
    return i, j


def _masks(bits: int, radius: int) -> Iterator[int]:
    for r in range(radius + 1):
        for combo in itertools.combinations(range(bits), r):
            yield sum(1 << b for b in combo)


_CANDIDATES = 1 << 22  # candidate pairs of full buckets checked at once (~200 MB of temporaries)
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
    unique, inverse = np.unique(h, return_inverse=True)
    if len(unique) < n:
        # Identical hashes (one blank image copied a thousand times) would fill one bucket and
        # cost its size squared in every lookup: search the distinct values, then expand.
        return _expand(_distinct_pairs(unique, threshold, brute_below), inverse.ravel())
    return _distinct_pairs(h, threshold, brute_below)


def _distinct_pairs(h: np.ndarray, threshold: int, brute_below: int) -> np.ndarray:
    n = len(h)
    if n < 2:
        return np.empty((0, 2), np.int64)
    blocks = choose_blocks(n, threshold)
    if blocks and n > brute_below:
        return unique_pairs(np.concatenate(list(_block_pairs(h, blocks, threshold))))
    m = choose_chunks(n, threshold)
    if m == 0 or n <= brute_below:
        return brute_force_pairs(h, threshold)
    radius = threshold // m
    found: list[np.ndarray] = []
    for shift, bits in _chunks(m):
        found.extend(_chunk_pairs(h, shift, bits, radius, threshold))
    if not found:
        return np.empty((0, 2), np.int64)
    return unique_pairs(np.concatenate(found))


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
        yield _close(order, hs, single, starts[keys[single]], threshold)
        multi = np.flatnonzero(c > 1)
        cm = c[multi].astype(np.int64)
        # Dense hashes (a photo and its hundred copies) fill buckets: their candidates are
        # checked a bounded number at a time, not every candidate of the mask at once.
        for lo, hi in _spans(cm, _CANDIDATES):
            part, cp = multi[lo:hi], cm[lo:hi]
            offset = np.arange(int(cp.sum())) - np.repeat(np.cumsum(cp) - cp, cp)
            j = np.repeat(starts[keys[part]], cp) + offset
            yield _close(order, hs, np.repeat(part, cp), j, threshold)


def _close(order: np.ndarray, hs: np.ndarray, i: np.ndarray, j: np.ndarray,
           threshold: int) -> np.ndarray:  # fmt: skip
    """The candidates (i, j) (positions in chunk order, each pair also seen as (j, i)) within
    ``threshold``, as sorted pairs of original positions."""
    keep = i < j
    i, j = i[keep], j[keep]
    close = popcount(hs[i] ^ hs[j]) <= threshold
    a, b = order[i[close]], order[j[close]]
    return np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)


def _spans(sizes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive slices [lo, hi) of ``sizes`` each summing to at most ``limit`` (a single
    larger size alone)."""
    ends = np.cumsum(sizes)
    spans, lo = [], 0
    while lo < len(sizes):
        base = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + limit, side="right")))
        spans.append((lo, hi))
        lo = hi
    return spans


def _members(inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions grouped by distinct value: (positions sorted by value, start, count per value)."""
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse).astype(np.int64)
    return order, np.cumsum(counts) - counts, counts


def _expand(distinct: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Pairs of positions from pairs of distinct values: every member of one with every member
    of the other, and every two members of one value (distance 0)."""
    order, start, count = _members(inverse)
    a, b = distinct[:, 0], distinct[:, 1]
    ca, cb = count[a], count[b]
    k = ca * cb
    pair_of = np.repeat(np.arange(len(distinct)), k)
    within = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    left = order[start[a][pair_of] + within // cb[pair_of]]
    right = order[start[b][pair_of] + within % cb[pair_of]]
    parts = [np.stack([left, right], axis=1)]
    many = np.flatnonzero(count > 1)
    if len(many):
        c = count[many]
        t = c * (c - 1) // 2  # pairs inside each value
        grp = np.repeat(np.arange(len(many)), t)
        r = np.arange(int(t.sum())) - np.repeat(np.cumsum(t) - t, t)
        i, j = _triangle(c[grp], r)
        base = start[many][grp]
        parts.append(np.stack([order[base + i], order[base + j]], axis=1))
    pairs = np.concatenate(parts)
    return unique_pairs(np.stack([pairs.min(axis=1), pairs.max(axis=1)], axis=1))


def hash_components(hashes: np.ndarray, threshold: int) -> tuple[np.ndarray, int]:
    """Connected components of "within ``threshold``" over all hashes, without listing the pairs
    inside a set of identical hashes: the distinct values are searched and linked, and each
    hash takes its value's component. Returns (component per hash, number of pair edges
    searched). Memory: ~8 bytes per hash for the values plus the distinct pairs found."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h = np.asarray(hashes, dtype=np.uint64)
    unique, inverse = np.unique(h, return_inverse=True)
    pairs = _distinct_pairs(unique, threshold, BRUTE_FORCE_BELOW)
    n = len(unique)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))  # fmt: skip
    _, comp = connected_components(graph, directed=False)
    return comp[inverse.ravel()], len(pairs)


_KEY_SPAN = 3_000_000_000  # span * span stays under 2**63


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """The distinct rows of ``pairs`` (non-negative), sorted. Each row is one integer key
    ``first * span + second``, so the sort is of one int64 column (``np.unique(axis=0)`` sorts
    rows as opaque records: 29.1 s for 30 million pairs, where this takes 4.9 s)."""
    if len(pairs) == 0:
        return pairs.astype(np.int64).reshape(0, 2)
    pairs = pairs.astype(np.int64)
    span = int(pairs.max()) + 1
    if span > _KEY_SPAN:
        return np.unique(pairs, axis=0)
    keys = distinct(pairs[:, 0] * span + pairs[:, 1])
    return np.stack([keys // span, keys % span], axis=1)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D array, sorted: ``np.unique``'s result, by one sort and a
    mask (numpy 2.4's ``np.unique`` took 51 s for 30 million int64 where this takes 2.2 s)."""
    out = np.sort(values)
    keep = np.empty(len(out), dtype=bool)
    keep[:1] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
