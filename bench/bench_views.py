"""The view search (re-cropped, zoomed, turned copies) at scale: time, pairs and peak memory.

    python bench/bench_views.py [--sizes 10000,100000] [--workers 1,2] [--no-phash]
                                [--zip ../shared/data/micro-expressions.zip]

Thumbnails: the 48x48 thumbnails of the real kmirfan archive (9,460 faces); beyond that, each
extra image is a real one turned by up to 10 degrees, zoomed by 0.85-1.15, shifted by up to 4
pixels, its brightness and contrast changed and noise added, so the set grows as a real one
would: with faces, and with more and more re-framed copies of the same photos.

For each size, in a fresh process (its own peak memory, its pool's workers included): the view
search as merge runs it, in one process and on a started pool of workers,
against the plain approaches in the same run: the pHash multi-index search over the same images
(plain and mirror hashes, radius 8: what finds copies that are not re-framed), and, up to 20,000
images, the view search scanning every key for every view (one list: the exact oracle, to say
what the inverted lists miss).
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile
from pathlib import Path

from memsample import run_isolated

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def thumbs(zip_path: str, n: int, seed: int = 0):  # noqa: ANN201 - numpy array
    import numpy as np
    from PIL import Image
    from scipy.ndimage import affine_transform

    from medata.probe import THUMB

    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(i.filename for i in zf.infolist() if i.filename.endswith(".jpg"))
        real = np.stack([np.asarray(Image.open(io.BytesIO(zf.read(x))).convert("L")
                                    .resize((THUMB, THUMB), Image.Resampling.LANCZOS))
                         for x in names])  # fmt: skip
    if n <= len(real):
        return real[:n]
    rng = np.random.default_rng(seed)
    out = np.empty((n, THUMB, THUMB), np.uint8)
    out[: len(real)] = real
    c = (THUMB - 1) / 2
    for k in range(len(real), n):
        src = real[rng.integers(len(real))].astype(np.float32)
        a, z = np.radians(rng.uniform(-10, 10)), rng.uniform(0.85, 1.15)
        m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / z
        shift = rng.uniform(-4, 4, 2)
        img = affine_transform(src, m, offset=c - m @ (np.array([c, c]) + shift), order=1,
                               mode="nearest")  # fmt: skip
        img = img * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20) + rng.normal(0, 4, img.shape)
        out[k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def view_case(zip_path: str, n: int, workers: int = 1) -> dict[str, float]:
    """The view search in this process, or on a started process pool of ``workers`` (as the
    merge runs it: the pool's start is not timed)."""
    from medata.dedupe.verify import verification_pool
    from medata.dedupe.views import search

    with verification_pool(workers) as pool:  # started first, as in the merge
        t = thumbs(zip_path, n)
        start = time.perf_counter()
        found = search(t, pool=pool, workers=workers)
        seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "pairs": len(found.pairs)}


def oracle_case(zip_path: str, n: int) -> dict[str, float]:
    """Scanning every key for every view, and what share of its pairs the lists find."""
    from medata.dedupe.views import search

    t = thumbs(zip_path, n)
    start = time.perf_counter()
    everywhere = search(t, lists=1)
    seconds = time.perf_counter() - start
    fast = {tuple(p) for p in search(t).pairs.tolist()}
    found = sum(tuple(p) in fast for p in everywhere.pairs.tolist())
    return {"seconds": seconds, "pairs": len(everywhere.pairs),
            "share": found / max(1, len(everywhere.pairs))}  # fmt: skip


def phash_case(zip_path: str, n: int) -> dict[str, float]:
    import numpy as np
    from PIL import Image

    from medata.dedupe.search import near_pairs
    from medata.probe import _small, phash_batch  # noqa: PLC2701 - the probe's own pHash input

    t = thumbs(zip_path, n)
    smalls = np.stack([_small(Image.fromarray(x)) for x in t])
    hashes = [int(h, 16) for h in phash_batch(smalls)] + [
        int(h, 16) for h in phash_batch(smalls[:, :, ::-1])]  # fmt: skip
    h = np.array(hashes, dtype=np.uint64)
    start = time.perf_counter()
    pairs = near_pairs(h, 8)
    return {"n": n, "seconds": time.perf_counter() - start, "pairs": len(pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument(
        "--workers",
        default="1,2",
        help="the view search in one process (1) and/or on a pool of N workers",
    )
    ap.add_argument("--no-phash", action="store_true", help="skip the pHash search column")
    args = ap.parse_args()
    z = str(args.zip)
    print(
        "| images | workers | view search s | pairs | peak MB | pHash search (plain) s "
        "| pHash pairs | every key scanned s | its pairs | of them found |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        for w in (int(x) for x in args.workers.split(",")):
            v = run_isolated("bench_views", f"view_case({z!r}, {n}, {w})")
            phash, exact = ("-", "-"), ("-", "-", "-")
            if w == int(args.workers.split(",")[0]):
                if not args.no_phash:
                    p = run_isolated("bench_views", f"phash_case({z!r}, {n})")
                    phash = f"{p['seconds']:.1f}", f"{p['pairs']:,}"
                if n <= 20_000:
                    e = run_isolated("bench_views", f"oracle_case({z!r}, {n})")
                    exact = f"{e['seconds']:.1f}", f"{e['pairs']:,}", f"{e['share']:.1%}"
            print(f"| {n:,} | {w} | {v['seconds']:.1f} | {v['pairs']:,} | {v['peak_mb']:.0f} "
                  f"| {' | '.join(phash)} | {' | '.join(exact)} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
