"""Validation time on a ~10,000-image dataset: first (every file decoded) against re-validation
of the unchanged dataset (size and mtime match the manifest, so nothing is decoded).

    python bench/bench_validate.py [--zip ../shared/data/micro-expressions.zip] [--extra 450]

The dataset is the real kmirfan archive merged with a generated kori-style folder (``--extra``
images per class) to pass 10,000 images. Timings are in-process (imports done beforehand) and,
for the CLI, wall-clock including interpreter start and imports; each the best of 3 runs.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medata.checks.run import ValidateOptions, validate
from medata.demo.synth import kori
from medata.pipeline import InputSpec, MergeOptions, merge

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    """The result and the best wall time of ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return result, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--extra", type=int, default=450)
    args = ap.parse_args()
    import pandera.pandas  # noqa: F401  (import cost is reported by the CLI rows, not here)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kori(args.extra, random.Random(0)).write_dir(root / "microexpression")
        ds = root / "dataset"
        merge([InputSpec(args.zip), InputSpec(root / "microexpression")], ds, MergeOptions())
        first, t_first = timed(lambda: validate(ds, ValidateOptions(deep=True)))
        again, t_again = timed(lambda: validate(ds))
        cli = [sys.executable, "-m", "medata", "validate", str(ds), "-q"]
        _, c_first = timed(lambda: subprocess.run([*cli, "--deep"], check=False))
        _, c_again = timed(lambda: subprocess.run(cli, check=False))
    print(f"{'run':52} {'files':>6} {'decoded':>8} {'seconds':>8} {'ratio':>6}")
    print(
        f"{'first validation (library, every file decoded)':52} {first.files:6d} "
        f"{first.decoded:8d} {t_first:8.2f} {1.0:6.2f}"
    )
    print(
        f"{'re-validation, unchanged (library, manifest cache)':52} {again.files:6d} "
        f"{again.decoded:8d} {t_again:8.2f} {t_again / t_first:6.3f}"
    )
    print(
        f"{'first validation (CLI, --deep, wall)':52} {first.files:6d} {first.decoded:8d} "
        f"{c_first:8.2f} {1.0:6.2f}"
    )
    print(
        f"{'re-validation, unchanged (CLI, wall)':52} {again.files:6d} {again.decoded:8d} "
        f"{c_again:8.2f} {c_again / c_first:6.3f}"
    )


if __name__ == "__main__":
    main()
