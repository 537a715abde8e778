"""The probe on Dask against the process pool: the real archive merged (no dedupe, so the
probe and the copy are the whole work) with the local process pool, and with `--scheduler
local` (a LocalCluster of 1 and 2 worker processes, started inside the timed call, as the CLI
does), interleaved, best of N, fresh processes.

    python bench/bench_cluster.py [--runs 2] [--zip ../shared/data/micro-expressions.zip]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from memsample import best_of

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def merge_case(zip_path: str, scheduler: str | None, workers: int) -> dict[str, object]:
    import tempfile
    import time

    from medata import InputSpec, MergeOptions, merge

    opts = MergeOptions(resume=False, dedupe=None, workers=workers, scheduler=scheduler)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = merge([InputSpec(Path(zip_path))], Path(tmp) / "out", opts)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "kept": int((result.manifest["status"] == "kept").sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = ap.parse_args()
    z = str(args.zip)
    cases = [("process pool, 2 workers", None, 2), ("dask local, 1 worker", "local", 1),
             ("dask local, 2 workers", "local", 2)]  # fmt: skip
    best = best_of(args.runs, "bench_cluster", {label: f"merge_case({z!r}, {s!r}, {w})"
                                                 for label, s, w in cases})  # fmt: skip
    print(f"merge --no-dedupe of {args.zip.name}, best of {args.runs} (interleaved)")
    print("| probe on | seconds | peak MB (all processes) | kept |")
    print("|---|---|---|---|")
    for label, _, _ in cases:
        r = best[label]
        print(f"| {label} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['kept']} |")


if __name__ == "__main__":
    main()
