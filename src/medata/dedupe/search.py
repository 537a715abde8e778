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
    return _joined(out)


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
    multi-index path on small inputs). Every pair is held at once: a burst of near-identical
    frames has as many pairs as the square of its size (see ``nearest_pairs``)."""
    return _joined(list(_near_pair_parts(hashes, threshold, brute_below)))


def _near_pair_parts(
    hashes: np.ndarray, threshold: int, brute_below: int = BRUTE_FORCE_BELOW
) -> Iterator[np.ndarray]:
    """The pairs of ``near_pairs`` in parts of about ``_CANDIDATES`` pairs or fewer, each pair
    sorted (i < j), a pair possibly in more than one part.

    Identical hashes (one blank image copied a thousand times) would fill one bucket and cost
    its size squared in every lookup: the distinct values are searched, then expanded."""
    h = np.asarray(hashes, dtype=np.uint64)
    if len(h) < 2:
        return
    unique, inverse = np.unique(h, return_inverse=True)
    if len(unique) == len(h):
        yield from _distinct_parts(h, threshold, brute_below)
        return
    members = _members(inverse.ravel())
    yield from _within_values(*members)
    for distinct in _batched(_distinct_parts(unique, threshold, brute_below)):
        yield from _across_values(distinct, members, members)


def nearest_pairs(
    hashes: np.ndarray,
    threshold: int,
    k: int,
    images: int | None = None,
    brute_below: int = BRUTE_FORCE_BELOW,
) -> np.ndarray:
    """The pairs of ``near_pairs`` that ``nearest_of_each`` keeps (sorted, shape (m, 2)), found
    without ever holding all of them: memory stays bounded however many near-identical images
    there are (a burst of 8,000 video frames has 64 million pairs within 8 bits).

    ``hashes``: one per image, or with ``images`` given, the images' hashes followed by their
    mirror images' (position ``images + i`` is image i mirrored); a pair of two mirrors, or of
    an image and its own mirror, is never listed. Two members of one value are at distance 0:
    a member whose pairs as first and as second image already hold ``k`` of them at distance 0
    needs no pair with another value, and inside a value only a window of neighbours and the
    first members are paired (``_within_values``, ``_open_members``)."""
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h) if images is None else images
    if len(h) not in (n, 2 * n):
        raise ValueError("hashes: one per image, or one per image and one per mirror image")
    kept = _Nearest(h, n, k)
    if len(h) < 2:
        return kept.result()
    unique, inverse = np.unique(h, return_inverse=True)
    inverse = inverse.ravel()
    if len(unique) == len(h):
        for part in _distinct_parts(h, threshold, brute_below):
            kept.add(part)
        return kept.result()
    members = _members(inverse)
    for part in _within_values(*members, window=2 * k + 2, lead=k + 1):
        kept.add(part)
    open_ = _open_members(inverse, members, n, k)
    opened = _members(np.where(open_, inverse, len(unique)), len(unique) + 1)
    # Every position keyed by (value, position), in members' order: where the members of a
    # value after a given position start.
    keys = inverse[members[0]].astype(np.int64) * len(inverse) + members[0]
    for distinct in _batched(_distinct_parts(unique, threshold, brute_below)):
        for pairs in (distinct, distinct[:, ::-1]):
            # A value of a few members is paired whole (nothing to leave out).
            few = members[2][pairs[:, 1]] <= 2 * (k + 1)
            for part in _across_values(pairs[few], opened, members):
                kept.add(part)
            for part in _open_to_value(pairs[~few], opened, members, keys, k + 1):
                kept.add(part)
    return kept.result()


def _open_to_value(distinct: np.ndarray, opened: tuple[np.ndarray, ...],
                   members: tuple[np.ndarray, ...], keys: np.ndarray,
                   few: int) -> Iterator[np.ndarray]:  # fmt: skip
    """For each pair of values (a, b) at some distance, each open member p of a paired with
    the members of b it may rank among its nearest: all of b is at one distance from p, and
    ``nearest_of_each`` ranks by the other image's position, so p needs only the first
    ``few`` members of b (as second image, and for a mirror) and the first ``few`` members of
    b after p (as first image: later images, then mirrors, in position order)."""
    order, start, count = members
    a, b = distinct[:, 0], distinct[:, 1]
    span = len(order)  # ``keys``: value * span + position, ascending (see ``nearest_pairs``)
    reach = np.arange(few, dtype=np.int64)
    for row, within in _pieces(opened[2][a], max(1, _CANDIDATES // (2 * few))):
        p = opened[0][opened[1][a][row] + within]
        v = b[row]
        after = np.searchsorted(keys, v.astype(np.int64) * span + p) - start[v]
        local = np.concatenate([np.broadcast_to(reach, (len(p), few)),
                                after[:, None] + reach], axis=1)  # fmt: skip
        ok = local < count[v][:, None]
        partner = order[(start[v][:, None] + local)[ok]]
        yield _sorted_pairs(np.repeat(p, ok.sum(axis=1)), partner)


def _open_members(inverse: np.ndarray, members: tuple[np.ndarray, ...], n: int,
                  k: int) -> np.ndarray:  # fmt: skip
    """Which positions may need a pair with another value: those whose pairs as first image
    (``nearest_of_each`` ranks each column of the pairs apart) or as second hold fewer than
    ``k`` pairs at distance 0 inside their values. Pairs are (i < j), so the first image is
    always as it is; as first, a member pairs with the later images of its value and its
    mirrors (not its own); as second, image x pairs with the earlier images of its value and,
    mirrored, with the images of its mirror's value (not itself). Members of a value are in
    position order, images before mirrors."""
    order, start, count = members
    rank = np.empty(len(inverse), dtype=np.int64)
    rank[order] = np.arange(len(inverse)) - np.repeat(start, count)
    plain = np.bincount(inverse[:n], minlength=len(count))
    value = inverse[:n]
    own = inverse[n:] == value if len(inverse) > n else np.zeros(n, dtype=bool)
    as_first = (plain[value] - 1 - rank[:n]) + (count - plain)[value] - own >= k
    as_second = rank[:n] + ((plain[inverse[n:]] - own) if len(inverse) > n else 0) >= k
    out = np.empty(len(inverse), dtype=bool)
    out[:n] = ~as_first | ~as_second
    if len(inverse) > n:
        out[n:] = ~as_second
    return out


_KEEP_AT = 1 << 22  # candidate pairs held before they are cut down to each image's nearest


class _Nearest:
    """Pairs found so far, cut down to what ``nearest_of_each`` keeps of them whenever they pile
    up. A pair cut has ``k`` nearer pairs at both its ends already; more pairs only push it
    further down, and the pairs each image finally keeps are never cut: the result is that of
    one cut of every pair at the end."""

    def __init__(self, h: np.ndarray, images: int, k: int) -> None:
        self.h, self.images, self.k = h, images, k
        self.parts: list[np.ndarray] = []
        self.held = 0
        self.keep_at = _KEEP_AT

    def add(self, pairs: np.ndarray) -> None:
        n = self.images
        pairs = pairs[(pairs[:, 0] < n) & (pairs[:, 1] != pairs[:, 0] + n)]
        self.parts.append(pairs)
        self.held += len(pairs)
        if self.held > self.keep_at:
            cut = self.result()
            self.parts, self.held = [cut], len(cut)
            self.keep_at = max(self.keep_at, 2 * self.held)

    def result(self) -> np.ndarray:
        if not self.parts:
            return np.empty((0, 2), np.int64)
        pairs = _joined(self.parts)
        distance = popcount(self.h[pairs[:, 0]] ^ self.h[pairs[:, 1]])
        n = self.images
        return pairs[nearest_of_each(pairs % n, distance, pairs[:, 1] >= n, self.k)]


def nearest_of_each(
    pairs: np.ndarray, distance: np.ndarray, mirrored: np.ndarray, k: int
) -> np.ndarray:
    """Which candidate pairs are among the ``k`` nearest of either of their images (by distance,
    then plain before mirrored, then the partner's position: the same choice every run).
    Each column of ``pairs`` is ranked apart: a pair stays when it is among the ``k`` nearest
    of its first image's pairs as first, or of its second image's pairs as second."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    keep = np.zeros(len(pairs), dtype=bool)
    span = int(pairs.max()) + 1
    one_key = span < 1 << 26  # end, distance (7 bits), mirrored, partner in one int64
    for end, other in ((pairs[:, 0], pairs[:, 1]), (pairs[:, 1], pairs[:, 0])):
        if one_key:
            key = (((end.astype(np.int64) << 8 | distance) << 1 | mirrored) << 26) | other
            order = np.argsort(key, kind="stable")  # as lexsort orders them
        else:
            order = np.lexsort((other, mirrored, distance, end))
        ends = end[order]
        rank = np.arange(len(ends)) - np.searchsorted(ends, ends, side="left")
        keep[order[rank < k]] = True
    return keep


def _distinct_parts(h: np.ndarray, threshold: int, brute_below: int) -> Iterator[np.ndarray]:
    n = len(h)
    if n < 2:
        return
    blocks = choose_blocks(n, threshold)
    if blocks and n > brute_below:
        yield from _block_pairs(h, blocks, threshold)
        return
    m = choose_chunks(n, threshold)
    if m == 0 or n <= brute_below:
        yield brute_force_pairs(h, threshold)
        return
    radius = threshold // m
    for shift, bits in _chunks(m):
        yield from _chunk_pairs(h, shift, bits, radius, threshold)


def _batched(parts: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Parts gathered to about ``_CANDIDATES`` pairs, each batch without repeated pairs."""
    held: list[np.ndarray] = []
    size = 0
    for part in parts:
        held.append(part)
        size += len(part)
        if size >= _CANDIDATES:
            yield _joined(held)
            held, size = [], 0
    if size:
        yield _joined(held)


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


def _members(inverse: np.ndarray, values: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions grouped by distinct value: (positions sorted by value, start, count per value
    (at least ``values`` of them))."""
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=values).astype(np.int64)
    return order, np.cumsum(counts) - counts, counts


def _pieces(sizes: np.ndarray, limit: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Items numbered 0 .. sizes[g] - 1 within each group g, at most ``limit`` (default
    ``_CANDIDATES``) at a time, however large one group: (group, number within it) per item."""
    ends = np.cumsum(sizes)
    total = int(ends[-1]) if len(ends) else 0
    limit = limit or _CANDIDATES
    for lo in range(0, total, limit):
        at = np.arange(lo, min(total, lo + limit), dtype=np.int64)
        group = np.searchsorted(ends, at, side="right")
        yield group, at - (ends[group] - sizes[group])


def _across_values(distinct: np.ndarray, left: tuple[np.ndarray, ...],
                   right: tuple[np.ndarray, ...]) -> Iterator[np.ndarray]:  # fmt: skip
    """Pairs of positions from pairs of distinct values (a, b): every member of a in ``left``
    (``_members``: order, start, count) with every member of b in ``right``."""
    a, b = distinct[:, 0], distinct[:, 1]
    cb = right[2][b]
    for pair_of, within in _pieces(left[2][a] * cb):
        first = left[0][left[1][a][pair_of] + within // cb[pair_of]]
        yield _sorted_pairs(first, right[0][right[1][b][pair_of] + within % cb[pair_of]])


def _within_values(order: np.ndarray, start: np.ndarray, count: np.ndarray,
                   window: int | None = None, lead: int = 0) -> Iterator[np.ndarray]:  # fmt: skip
    """Every two members of one value (distance 0); with ``window``, only the members i < j
    (by position) with j - i <= ``window`` or i < ``lead``."""
    many = np.flatnonzero(count > 1)
    if len(many) == 0:
        return
    c, base = count[many], start[many]
    if window is None:
        for grp, r in _pieces(c * (c - 1) // 2):
            i, j = _triangle(c[grp], r)
            yield np.stack([order[base[grp] + i], order[base[grp] + j]], axis=1)
        return
    for gap in range(1, window + 1):  # (i, i + gap)
        for grp, i in _pieces(np.maximum(c - gap, 0)):
            yield _sorted_pairs(order[base[grp] + i], order[base[grp] + i + gap])
    # (i, j) for the first ``lead`` rows i, each row's pairs past the window
    rows = np.minimum(c, lead)
    for grp, r in _pieces(rows * c):
        i, j = r // c[grp], r % c[grp]
        far = j > i + window
        yield _sorted_pairs(order[base[grp][far] + i[far]], order[base[grp][far] + j[far]])


def _sorted_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each (a, b) as (smaller, larger)."""
    return np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)


def hash_components(hashes: np.ndarray, threshold: int) -> tuple[np.ndarray, int]:
    """Connected components of "within ``threshold``" over all hashes, without listing the pairs
    inside a set of identical hashes: the distinct values are searched and linked, and each
    hash takes its value's component. Returns (component per hash, number of pair edges
    searched). Memory: ~8 bytes per hash for the values plus the distinct pairs found."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h = np.asarray(hashes, dtype=np.uint64)
    unique, inverse = np.unique(h, return_inverse=True)
    pairs = _joined(list(_distinct_parts(unique, threshold, BRUTE_FORCE_BELOW)))
    n = len(unique)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))  # fmt: skip
    _, comp = connected_components(graph, directed=False)
    return comp[inverse.ravel()], len(pairs)


_KEY_SPAN = 3_000_000_000  # span * span stays under 2**63


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The distinct pairs of all ``parts``, sorted (``unique_pairs`` of them together)."""
    return unique_pairs(np.concatenate(parts)) if parts else np.empty((0, 2), np.int64)


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
