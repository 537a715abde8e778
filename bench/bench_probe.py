"""Probe throughput and peak memory on the real kmirfan archive, against a plain imagehash loop.

    python bench/bench_probe.py [--zip ../shared/data/micro-expressions.zip] [--workers N]

The plain loop is ``imagehash.phash(Image.open(p))`` over the extracted files, single process.
The probe does more per image (sha256 of the bytes, full decode, pixel sha256, pHash, size, mode,
format) and runs over a process pool; it is timed reading the zip directly and the extracted
folder. Memory is the peak summed RSS of the process and its workers, measured in a fresh
subprocess for each contender so that one does not inherit the other's pages.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import zipfile
from pathlib import Path

from memsample import run_isolated

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def plain(folder: str) -> dict[str, float]:
    import imagehash
    from PIL import Image

    files = sorted(str(p) for p in Path(folder).rglob("*.jpg"))
    t = time.perf_counter()
    for p in files:
        imagehash.phash(Image.open(p))
    return {"n": len(files), "seconds": time.perf_counter() - t}


def probe(location: str, workers: int) -> dict[str, float]:
    from medata.inputs import list_entries, open_input
    from medata.probe import probe_many

    t = time.perf_counter()
    ref = open_input(Path(location))
    keys = [e.key for e in list_entries(ref)]
    results = probe_many([(ref, keys)], workers=workers)
    bad = sum(1 for r in results.values() if r.problem is not None)
    return {"n": len(results), "seconds": time.perf_counter() - t, "failed": bad}


def _child(kind: str, location: str, workers: int) -> dict[str, float]:
    """One contender in a fresh interpreter, its memory sampled from outside (a sampler thread
    inside would change how the pool starts its workers)."""
    call = f"plain({location!r})" if kind == "plain" else f"probe({location!r}, {workers})"
    return run_isolated("bench_probe", call)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=2, help="runs per contender; the best is kept")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(args.zip) as zf:
            zf.extractall(tmp)
        rows: list[tuple[str, dict[str, float]]] = []
        contenders = [
            ("plain imagehash loop (1 process, files)", "plain", tmp, 1),
            (f"medata probe ({args.workers} workers, zip)", "probe", str(args.zip), args.workers),
            (f"medata probe ({args.workers} workers, folder)", "probe", tmp, args.workers),
            ("medata probe (1 process, zip)", "probe", str(args.zip), 1),
        ]
        for label, kind, location, workers in contenders:
            runs = [_child(kind, location, workers) for _ in range(args.repeat)]
            rows.append((label, min(runs, key=lambda r: r["seconds"])))
    base = rows[0][1]["n"] / rows[0][1]["seconds"]
    print(
        f"{'contender':44} {'images':>7} {'seconds':>8} {'img/s':>7} {'x plain':>8} {'peak MB':>8}"
    )
    for label, r in rows:
        rate = r["n"] / r["seconds"]
        print(
            f"{label:44} {int(r['n']):7d} {r['seconds']:8.2f} {rate:7.0f} "
            f"{rate / base:8.2f} {r['peak_mb']:8.0f}"
        )
    print(f"cores: {os.cpu_count()}, archive: {args.zip.name}")


if __name__ == "__main__":
    main()
