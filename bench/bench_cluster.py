"""The probe on Dask against the process pool: the real archive merged (no dedupe, so the
probe and the copy are the whole work) with the local process pool, and with `--scheduler
local` (a LocalCluster of 1 and 2 worker processes, started inside the timed call, as the CLI
does), interleaved, best of N, fresh processes.

    python bench/bench_cluster.py [--runs 2] [--zip ../shared/data/micro-expressions.zip]
                                  [--generated 100000]

``--generated N`` runs the same cases on a zip of N generated 48x48 grey JPEGs (distinct noise
faces of no meaning, in the generic ``<split>/<class>/`` layout), written once before timing.
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


def make_generated(n: int, path: Path, seed: int = 0) -> Path:
    """A zip of ``n`` distinct 48x48 grey JPEGs, ``train|test/<class>/g_NNNNNNN.jpg``."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    classes = ["Anger", "Disgust", "Fear", "Happy", "Neutral", "Surprised"]
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for start in range(0, n, 1000):
            block = rng.integers(0, 256, size=(min(1000, n - start), 12, 12), dtype=np.uint8)
            for k, small in enumerate(block):
                i = start + k
                buf = io.BytesIO()
                Image.fromarray(small).resize((48, 48), Image.BILINEAR).save(buf, "JPEG")
                split = "test" if i % 5 == 0 else "train"
                zf.writestr(f"{split}/{classes[i % 6]}/g_{i:07d}.jpg", buf.getvalue())
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--generated", type=int, default=0, help="images in a generated zip instead")
    args = ap.parse_args()
    if args.generated:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            args.zip = make_generated(args.generated, Path(tmp) / f"generated-{args.generated}.zip")
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
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
