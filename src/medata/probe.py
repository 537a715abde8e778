"""Open each image exactly once: sha256, size, mode, format, pHash, pixel hash, decode errors.

``probe_bytes`` is a pure function of the bytes; ``probe_partition`` maps it over one partition of
entries of one input. Partitions are independent, so any executor can run them: a local process
pool here, a Dask cluster later (``client.map(probe_partition, partitions)``) without a rewrite.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from medata.inputs import InputRef, Reader
from medata.records import Reason

MAX_PIXELS = 40_000_000  # 6000x4000 photos pass; a 50,000 x 50,000 header is refused undecoded
HASH_SIZE = 8
_IMG = HASH_SIZE * 4


def _dct_matrix(n: int) -> np.ndarray:
    # scipy.fftpack.dct type II, unnormalised: y[k] = 2 * sum x[i] cos(pi k (2i+1) / 2n)
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT_LOW = _dct_matrix(_IMG)[:HASH_SIZE]  # only the 8 lowest frequencies are used


def phash_hex(image: Image.Image) -> str:
    """Equal to ``str(imagehash.phash(image))``, using two small matrix products for the DCT."""
    small = image.convert("L").resize((_IMG, _IMG), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    low = (_DCT_LOW @ pixels @ _DCT_LOW.T).ravel()
    ordered = np.sort(low)
    mid = HASH_SIZE * HASH_SIZE // 2
    if ordered[mid] - ordered[mid - 1] < 1e-6 * max(1.0, abs(ordered[-1]), abs(ordered[0])):
        # Two middle coefficients (nearly) tie, so one may sit on the median and round-off could
        # flip its bit: take imagehash's own path for this image.
        import scipy.fftpack

        full = scipy.fftpack.dct(scipy.fftpack.dct(np.asarray(small), axis=0), axis=1)
        low = full[:HASH_SIZE, :HASH_SIZE].ravel()
        ordered = np.sort(low)
    med = (ordered[mid - 1] + ordered[mid]) / 2.0
    return np.packbits(low > med).tobytes().hex()


@dataclass(frozen=True)
class ProbeResult:
    key: str
    bytes: int
    sha256: str
    pixel_sha256: str | None = None
    phash: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    format: str | None = None
    problem: Reason | None = None
    detail: str = ""


def probe_bytes(key: str, data: bytes) -> ProbeResult:
    """Everything medata needs from one file, decoding it once, fully."""
    sha = hashlib.sha256(data).hexdigest()
    if not data:
        return ProbeResult(key, 0, sha, problem=Reason.EMPTY_FILE, detail="file has zero bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        return ProbeResult(key, len(data), sha, problem=Reason.TOO_LARGE, detail=str(exc))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a data problem, recorded
        return ProbeResult(key, len(data), sha, problem=Reason.UNDECODABLE, detail=_one_line(exc))
    fmt, (w, h), mode = im.format, im.size, im.mode
    base: dict[str, Any] = {
        "key": key,
        "bytes": len(data),
        "sha256": sha,
        "width": w,
        "height": h,
        "mode": mode,
        "format": fmt,
    }
    if w * h > MAX_PIXELS:
        return ProbeResult(
            **base,
            problem=Reason.TOO_LARGE,
            detail=f"{w}x{h} pixels is over the limit of {MAX_PIXELS:,}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
        pixel = hashlib.sha256(f"{im.mode}\0{w}x{h}\0".encode() + im.tobytes()).hexdigest()
        ph = phash_hex(im)
    except Exception as exc:  # noqa: BLE001
        msg = _one_line(exc)
        reason = Reason.TRUNCATED if "truncated" in msg.lower() else Reason.UNDECODABLE
        return ProbeResult(**base, problem=reason, detail=msg)
    return ProbeResult(**base, pixel_sha256=pixel, phash=ph)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()
    return text[0][:200] if text else type(exc).__name__


def probe_partition(ref: InputRef, keys: Sequence[str]) -> list[ProbeResult]:
    """Probe one partition of one input's entries. Pure apart from reading the input."""
    results: list[ProbeResult] = []
    with Reader(ref) as reader:
        for key in keys:
            try:
                data = reader.read(key)
            except Exception as exc:  # noqa: BLE001 - permission, I/O, bad zip member
                results.append(
                    ProbeResult(key, 0, "", problem=Reason.UNREADABLE, detail=_one_line(exc))
                )
                continue
            results.append(probe_bytes(key, data))
    return results


def partitions(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(keys), size):
        yield list(keys[i : i + size])


def probe_many(
    tasks: Sequence[tuple[InputRef, Sequence[str]]],
    workers: int | None = None,
    partition_size: int = 128,
    on_progress: Callable[[int], None] | None = None,
) -> dict[tuple[str, str], ProbeResult]:
    """Probe every (input, keys) task over a process pool; results keyed by (location, key)."""
    jobs = [(ref, part) for ref, keys in tasks for part in partitions(keys, partition_size)]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    out: dict[tuple[str, str], ProbeResult] = {}

    def collect(ref: InputRef, results: list[ProbeResult]) -> None:
        for r in results:
            out[(ref.location, r.key)] = r
        if on_progress is not None:
            on_progress(len(results))

    if workers <= 1 or len(jobs) <= 1:
        for ref, part in jobs:
            collect(ref, probe_partition(ref, part))
        return out
    # forkserver: workers never inherit the parent's threads (a progress bar's refresh thread).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["medata.probe"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures: list[Any] = [(ref, pool.submit(probe_partition, ref, part)) for ref, part in jobs]
        for ref, fut in futures:
            collect(ref, fut.result())
    return out
