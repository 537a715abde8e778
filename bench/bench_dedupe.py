"""Near-duplicate search and whole-dataset dedupe: time and peak memory.

    python bench/bench_dedupe.py [--sizes 10000,100000,1000000] [--threshold 8]

Part 1: random 64-bit hashes with planted near pairs (each planted copy differs from its
original in 1..threshold bits). The multi-index search must return exactly the planted pairs
plus the true random ones; brute force checks that where it is affordable (up to 30,000), and
for larger sizes every planted pair must be found and every returned pair must be within the
threshold. Each size runs in a fresh process so its peak memory is its own.

Part 2: on the real kmirfan archive, the whole dedupe of a merged dataset whose manifest already
holds the hashes (groups + policies + new manifest), against the plain approach of a Python
double loop over the same hashes (estimated from a sample of rows, as the full loop takes minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from memsample import run_isolated

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def search_case(n: int, threshold: int, seed: int = 0) -> dict[str, float]:
    import numpy as np

    from medata.dedupe.search import brute_force_pairs, choose_chunks, near_pairs

    rng = np.random.default_rng(seed)
    planted_n = max(1, n // 100)
    h = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    src = rng.choice(n // 2, planted_n, replace=False)
    dst = n // 2 + rng.choice(n - n // 2, planted_n, replace=False)
    for a, b in zip(src, dst, strict=True):
        v = h[a]
        for bit in rng.choice(64, rng.integers(1, threshold + 1), replace=False):
            v ^= np.uint64(1) << np.uint64(int(bit))
        h[b] = v
    t = time.perf_counter()
    pairs = near_pairs(h, threshold)
    seconds = time.perf_counter() - t
    found = {(int(i), int(j)) for i, j in pairs}
    planted = {(int(min(a, b)), int(max(a, b))) for a, b in zip(src, dst, strict=True)}
    within = bool((np.bitwise_count(h[pairs[:, 0]] ^ h[pairs[:, 1]]) <= threshold).all())
    exact = None
    if n <= 30_000:
        exact = bool(np.array_equal(pairs, brute_force_pairs(h, threshold)))
    return {
        "n": n,
        "chunks": choose_chunks(n, threshold),
        "seconds": seconds,
        "pairs": len(pairs),
        "planted": len(planted),
        "planted_found": planted <= found,
        "extra_random": len(found - planted),
        "all_within": within,
        "equals_brute": exact,
    }


def real_case(zip_path: str) -> dict[str, float]:
    from medata.dedupe.dataset import plan
    from medata.dedupe.resolve import DedupePolicy
    from medata.manifest import load_target
    from medata.pipeline import InputSpec, MergeOptions, merge

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw"
        merge([InputSpec(Path(zip_path))], out, MergeOptions(dedupe=None))
        t = time.perf_counter()
        target = load_target(out)
        p = plan(target, DedupePolicy())
        seconds = time.perf_counter() - t
        hashes = [int(x, 16) for x in target.manifest["phash"].dropna()]
    sample = hashes[:1000]
    t = time.perf_counter()
    close = 0
    for i, a in enumerate(sample):
        for b in sample[i + 1 :]:
            close += bin(a ^ b).count("1") <= 4
    loop = time.perf_counter() - t
    full = loop * (len(hashes) / len(sample)) ** 2
    return {
        "rows": len(target.manifest),
        "hashes": len(hashes),
        "seconds": seconds,
        "groups": len(p.groups.table),
        "changes": len(p.changes),
        "python_loop_estimate": full,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--threshold", type=int, default=8)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = ap.parse_args()
    print(f"near-pair search, threshold {args.threshold}")
    print(f"{'hashes':>9} {'chunks':>6} {'seconds':>8} {'pairs':>7} {'planted':>7} "
          f"{'all found':>9} {'random':>6} {'= brute':>7} {'peak MB':>8}")  # fmt: skip
    for n in (int(x) for x in args.sizes.split(",")):
        r = run_isolated("bench_dedupe", f"search_case({n}, {args.threshold})")
        brute = "-" if r["equals_brute"] is None else str(r["equals_brute"])
        print(f"{r['n']:9d} {r['chunks']:6d} {r['seconds']:8.2f} {r['pairs']:7d} "
              f"{r['planted']:7d} {str(r['planted_found'] and r['all_within']):>9} "
              f"{r['extra_random']:6d} {brute:>7} {r['peak_mb']:8.0f}")  # fmt: skip
    if args.zip.exists():
        r = run_isolated("bench_dedupe", f"real_case({str(args.zip)!r})")
        print(
            f"\nwhole dedupe of the real archive ({r['rows']} rows, {r['hashes']} hashes): "
            f"{r['seconds']:.2f} s, {r['groups']} groups, {r['changes']} changes, "
            f"peak {r['peak_mb']:.0f} MB (merge included in peak)"
        )
        print(
            f"plain Python double loop over the same hashes (estimated from 1,000): "
            f"{r['python_loop_estimate']:.1f} s"
        )


if __name__ == "__main__":
    main()
