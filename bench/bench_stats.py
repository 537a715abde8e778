"""Stats speed on a 50,000-row manifest (terminal and JSON), against the plain approach of walking
the dataset and opening every image with PIL to count classes and sizes.

    python bench/bench_stats.py [--zip ../shared/data/micro-expressions.zip] [--rows 50000]

The 50,000-row manifest is the real archive's manifest repeated with distinct source paths.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from PIL import Image

from medata.manifest import read_manifest, write_manifest
from medata.pipeline import InputSpec, MergeOptions, merge
from medata.statistics import compute

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def plain(root: Path) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    sizes = []
    for p in root.glob("*/*/*"):
        with Image.open(p) as im:
            sizes.append(im.size)
        counts[(p.parts[-3], p.parts[-2])] += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--rows", type=int, default=50_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "dataset"
        merge([InputSpec(args.zip)], ds, MergeOptions())
        m, _ = read_manifest(ds / "manifest.parquet")
        n_copies = -(-args.rows // len(m))
        copies = [
            m.assign(source_path=f"copy{k}/" + m["source_path"], dup_group=m["dup_group"] + f"-{k}")
            for k in range(n_copies)
        ]
        big = pd.concat(copies, ignore_index=True).head(args.rows)
        big_path = Path(tmp) / "big.parquet"
        write_manifest(big, big_path)
        t_lib = best(lambda: compute(read_manifest(big_path)[0]))
        cli = [sys.executable, "-m", "medata", "stats", str(big_path)]
        t_term = best(lambda: subprocess.run(cli, check=True, capture_output=True))
        t_json = best(lambda: subprocess.run([*cli, "--json"], check=True, capture_output=True))
        files = sum(1 for _ in ds.glob("*/*/*"))
        t_plain = best(lambda: plain(ds), repeat=1)
    per_file = t_plain / files
    print(f"{'run':58} {'rows':>7} {'seconds':>8}")
    print(f"{'stats, library (read manifest + compute)':58} {len(big):7d} {t_lib:8.2f}")
    print(f"{'medata stats, terminal (CLI wall, imports included)':58} {len(big):7d} {t_term:8.2f}")
    print(f"{'medata stats --json (CLI wall)':58} {len(big):7d} {t_json:8.2f}")
    print(f"{'plain: walk folders + PIL header per file, measured':58} {files:7d} {t_plain:8.2f}")
    print(f"{'plain, scaled to the same number of rows':58} {len(big):7d} "
          f"{per_file * len(big):8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
