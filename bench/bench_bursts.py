"""Bursts of near-identical frames (a still camera, a video clip of one face): time and peak
memory of the pHash candidates, the view search and the whole merge, against the plain way in
the same run.

    python bench/bench_bursts.py [--frames 2000,8000,100000] [--views 1000,3000,20000]
                                 [--plain-up-to 4000] [--merge 5000] [--before e1db593]

pHash candidates (each image's 6 nearest within 8 bits, images and mirrors, as the merge asks
for them): frames whose hashes are all one value ("identical") or drawn from 256 values (8
unstable bits: noise flips the same few bits of a still scene), against the plain way: every
pair within 8 bits listed, then cut (``near_pairs`` + ``nearest_of_each``: what the merge did
before). View search: one real face with sensor noise per frame, against the plain way: every
view's cosines with a list computed at once and every match held (``_CELLS`` and ``_ROW_CAP``
lifted). The plain ways run only up to ``--plain-up-to`` frames: their memory grows with the
square of the burst (8,000 identical frames held 9.5 GB of pHash pairs). Merge: a folder of
``--merge`` PNG frames through ``medata merge`` (CLI, default options), today's package against
``--before`` (default: the last commit before bursts were bounded) checked out in a temporary
git worktree. Each case runs in a fresh process; memory is the peak RSS of its process tree.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from memsample import run_isolated

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"
BEFORE = "e1db593"  # the last commit before the bounded burst search


def _hashes(n: int, kind: str):  # noqa: ANN202 - numpy array
    import numpy as np

    rng = np.random.default_rng(0)
    h = np.full(n, 0x9A3C5E7F12345678, dtype=np.uint64)
    if kind == "256 values":
        for bit in rng.choice(64, 8, replace=False):
            h[rng.random(n) < 0.5] ^= np.uint64(1 << int(bit))
    return np.concatenate([h, h ^ np.uint64(0xFF00FF00FF00FF00)])


def phash_case(n: int, kind: str, plain: bool) -> dict[str, float]:
    import time

    from medata.dedupe.search import near_pairs, nearest_of_each, nearest_pairs, popcount

    both = _hashes(n, kind)
    start = time.perf_counter()
    if plain:
        found = near_pairs(both, 8)
        found = found[(found[:, 0] < n) & (found[:, 1] != found[:, 0] + n)]
        distance = popcount(both[found[:, 0]] ^ both[found[:, 1]])
        found = found[nearest_of_each(found % n, distance, found[:, 1] >= n, 6)]
    else:
        found = nearest_pairs(both, 8, 6, images=n)
    return {"seconds": time.perf_counter() - start, "pairs": len(found)}


def _frames(zip_path: str, n: int):  # noqa: ANN202 - numpy array
    """``n`` 48x48 frames of one real face, each with its own sensor noise."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    with zipfile.ZipFile(zip_path) as zf:
        name = sorted(i.filename for i in zf.infolist() if i.filename.endswith(".jpg"))[123]
        face = Image.open(io.BytesIO(zf.read(name))).convert("L").resize((48, 48))
    rng = np.random.default_rng(0)
    noisy = np.asarray(face, np.float32)[None] + rng.normal(0, 2, (n, 48, 48))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def views_case(zip_path: str, n: int, plain: bool) -> dict[str, float]:
    import time

    from medata.dedupe import views

    frames = _frames(zip_path, n)
    if plain:
        views._CELLS, views._ROW_CAP = 2**62, 10**9
    start = time.perf_counter()
    found = views.search(frames)
    return {"seconds": time.perf_counter() - start, "pairs": len(found.pairs)}


def _write_frames(zip_path: str, n: int, root: Path) -> None:
    from PIL import Image

    for k, frame in enumerate(_frames(zip_path, n)):
        folder = root / ("test" if k % 10 == 0 else "train") / "happy"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame).resize((96, 96)).save(folder / f"frame_{k:06d}.png")


def merge_case(src: str, folder: str) -> dict[str, float]:
    """``medata merge FOLDER`` (default options, no probe cache) with the package at ``src``."""
    import os
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": src}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "medata", "merge", folder, "--out", f"{tmp}/out",
               "--no-resume", "--quiet"]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        return {"seconds": time.perf_counter() - start}


def _row(label: str, n: int, way: str, r: dict[str, float]) -> None:
    pairs = f"{int(r['pairs']):,}" if "pairs" in r else "-"
    print(f"| {label} | {n:,} | {way} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {pairs} |",
          flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="2000,8000,100000")
    ap.add_argument("--views", default="1000,3000,20000")
    ap.add_argument("--plain-up-to", type=int, default=4000)
    ap.add_argument("--merge", type=int, default=5000, help="frames merged (0: no merge rows)")
    ap.add_argument("--before", default=BEFORE)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = ap.parse_args()
    z = str(args.zip)
    print("| case | frames | way | seconds | peak MB | pairs |\n|---|---|---|---|---|---|")
    for kind in ("identical", "256 values"):
        for n in (int(x) for x in args.frames.split(",")):
            for plain in (True, False):
                if plain and n > args.plain_up_to:
                    continue
                r = run_isolated("bench_bursts", f"phash_case({n}, {kind!r}, {plain})")
                _row(f"pHash candidates, {kind}", n, "plain" if plain else "now", r)
    for n in (int(x) for x in args.views.split(",")):
        for plain in (True, False):
            if plain and n > args.plain_up_to:
                continue
            r = run_isolated("bench_bursts", f"views_case({z!r}, {n}, {plain})")
            _row("view search", n, "plain" if plain else "now", r)
    if not args.merge:
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "burst"
        _write_frames(z, args.merge, folder)
        into = Path(tmp) / "before"
        made = subprocess.run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach",
                               str(into), args.before], capture_output=True)  # fmt: skip
        try:
            if made.returncode == 0:
                r = run_isolated("bench_bursts", f"merge_case({str(into / 'src')!r}, "
                                                 f"{str(folder)!r})")  # fmt: skip
                _row(f"medata merge ({args.before})", args.merge, "before", r)
            r = run_isolated("bench_bursts", f"merge_case({str(HERE.parent / 'src')!r}, "
                                             f"{str(folder)!r})")  # fmt: skip
            _row("medata merge", args.merge, "now", r)
        finally:
            if made.returncode == 0:
                subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                                str(into)], capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
