"""The client-side Hamming search and connected components at 10^6-10^8 simulated hashes.

    python bench/bench_search_scale.py [--sizes 1000000,10000000,100000000] [--threshold 4]

Each set is 97% random 64-bit hashes, 1% one blank image's hash (the same value over and over),
1% exact copies of other hashes (small groups of equal values) and 1% near copies (1 to
``threshold`` bits flipped). ``hash_components`` collapses equal values, searches the distinct
ones (chunk tables below 4M hashes, block tables above, whichever the cost model picks) and
labels components; every planted copy must land in its original's component. Each size runs in
a fresh process, so its peak memory is its own. The plain approach, for comparison, is the
search before this change: every hash searched as it is (no collapse) with the chunk tables,
listing every pair, run where it fits in memory (at 10M the blanks alone make 5e9 pairs).
"""

from __future__ import annotations

import argparse
import time

from memsample import run_isolated


def simulated(n: int, threshold: int, seed: int = 0):  # -> (hashes, planted pairs)
    import numpy as np

    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    k = n // 100
    slots = rng.permutation(n)[: 3 * k]
    blank, exact, near = slots[:k], slots[k : 2 * k], slots[2 * k :]
    h[blank] = np.uint64(0)
    free = np.setdiff1d(np.arange(n), slots)  # originals are plain random hashes
    src_exact = rng.choice(free, k)
    h[exact] = h[src_exact]
    src_near = rng.choice(free, k)
    flips = np.zeros(k, dtype=np.uint64)
    count = rng.integers(1, threshold + 1, size=k) if threshold else np.zeros(k, dtype=np.int64)
    for step in range(int(count.max()) if k and threshold else 0):
        bit = rng.integers(0, 64, size=k).astype(np.uint64)
        flips |= np.where(step < count, np.uint64(1) << bit, np.uint64(0))
    h[near] = h[src_near] ^ flips
    pairs = np.concatenate([np.stack([src_exact, exact], 1), np.stack([src_near, near], 1)])
    return h, pairs, blank


def components_case(n: int, threshold: int) -> dict[str, object]:
    import numpy as np

    from medata.dedupe.search import choose_blocks, choose_chunks, hash_components

    h, planted, blank = simulated(n, threshold)
    t = time.perf_counter()
    comp, searched = hash_components(h, threshold)
    seconds = time.perf_counter() - t
    distinct = len(np.unique(h))
    plan = f"blocks B={choose_blocks(distinct, threshold)}" if choose_blocks(
        distinct, threshold) else f"chunks m={choose_chunks(distinct, threshold)}"  # fmt: skip
    ok = bool((comp[planted[:, 0]] == comp[planted[:, 1]]).all())
    ok = ok and len(set(comp[blank].tolist())) == 1
    return {"n": n, "distinct": distinct, "plan": plan, "seconds": seconds,
            "distinct_pairs": int(searched), "planted_joined": ok}  # fmt: skip


def plain_case(n: int, threshold: int) -> dict[str, object]:
    import numpy as np

    from medata.dedupe.search import _chunk_pairs, _chunks, choose_chunks, unique_pairs

    h, _, _ = simulated(n, threshold)
    t = time.perf_counter()
    m = choose_chunks(n, threshold)
    found = [p for shift, bits in _chunks(m)
             for p in _chunk_pairs(h, shift, bits, threshold // m, threshold)]  # fmt: skip
    pairs = unique_pairs(np.concatenate(found))
    return {"n": n, "seconds": time.perf_counter() - t, "pairs": len(pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000,100000000")
    ap.add_argument("--threshold", type=int, default=4)
    ap.add_argument("--plain-up-to", type=int, default=1_000_000)
    args = ap.parse_args()
    t = args.threshold
    print(f"client-side search + components, threshold {t} (97% random, 1% blank, 1% exact "
          "copies, 1% near copies)")  # fmt: skip
    print(f"{'hashes':>11} {'distinct':>11} {'plan':>11} {'seconds':>8} {'peak MB':>8} "
          f"{'pairs':>8} {'copies joined':>13} | {'plain s':>8} {'plain MB':>8} "
          f"{'plain pairs':>11}")  # fmt: skip
    for n in (int(x) for x in args.sizes.split(",")):
        r = run_isolated("bench_search_scale", f"components_case({n}, {t})")
        if n <= args.plain_up_to:
            p = run_isolated("bench_search_scale", f"plain_case({n}, {t})")
            plain = f"{p['seconds']:8.1f} {p['peak_mb']:8.0f} {p['pairs']:11d}"
        else:
            blanks = n // 100
            plain = f"{'not run':>8} {'-':>8} {blanks * (blanks - 1) // 2:11.1e}"
        print(f"{n:11d} {r['distinct']:11d} {r['plan']:>11} {r['seconds']:8.1f} "
              f"{r['peak_mb']:8.0f} {r['distinct_pairs']:8d} {str(r['planted_joined']):>13} | "
              f"{plain}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
