"""Open each image exactly once: sha256, size, mode, format, pHash, pixel hash, thumbnail, the
image properties of ``medata.properties``, decode errors.

``probe_bytes`` is a pure function of the bytes; ``probe_partition`` maps it over one partition of
entries of one input. Partitions are independent, so any executor can run them: a local process
pool here, a Dask cluster later (``client.map(probe_partition, partitions)``) without a rewrite.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import multiprocessing
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any

import numpy as np
from PIL import (  # the allowed decoders, registered explicitly
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    ImageOps,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    PpmImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    WebPImagePlugin,  # noqa: F401
)

from medata.guard import Refused
from medata.inputs import InputRef, Reader
from medata.problems import Code
from medata.properties import colour_sample, colour_spread, grey_properties

_ORIENTATION = 0x0112
# The only decoders the probe lets Pillow use: all in-process, none hands a file to an external
# program (EPS would call Ghostscript). Anything else is rejected with a reason.
# (MPO files are opened by the JPEG decoder.)
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
# Signatures of formats Pillow could decode but medata does not keep, for a precise reason.
_OTHER_FORMATS = (
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"%!PS", "EPS"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"%PDF", "PDF"), (b"8BPS", "PSD"),
    (b"#define", "XBM"), (b"/* XPM */", "XPM"), (b"\x00\x00\x01\x00", "ICO"),
    (b"icns", "ICNS"), (b"DDS ", "DDS"), (b"qoif", "QOI"),
)  # fmt: skip
_ADDRESS = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")
MAX_PIXELS = 40_000_000  # 6000x4000 photos pass; a 50,000 x 50,000 header is refused undecoded
HASH_SIZE = 8
_IMG = HASH_SIZE * 4


def _dct_matrix(n: int) -> np.ndarray:
    # scipy.fftpack.dct type II, unnormalised: y[k] = 2 * sum x[i] cos(pi k (2i+1) / 2n)
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT_LOW = _dct_matrix(_IMG)[:HASH_SIZE]  # only the 8 lowest frequencies are used


THUMB = 48  # the verification thumbnail (medata.dedupe.verify)


def open_image(data: bytes) -> Image.Image:
    """``Image.open`` restricted to the allowed, in-process decoders: every place that decodes
    untrusted bytes (probe, reports, training, predict) goes through here."""
    return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)


def preview(data: bytes | None, size: int) -> Image.Image | None:
    """An RGB image of at most ``size`` x ``size`` for reports, or None when undecodable."""
    if data is None:
        return None
    try:
        with warnings.catch_warnings(), open_image(data) as src:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if src.width * src.height > MAX_PIXELS:
                return None
            im = src.convert("RGB")
    except Exception:  # noqa: BLE001 - the caller draws a placeholder instead
        return None
    im.thumbnail((size, size))
    return im


def _thumb(grey: Image.Image) -> bytes:
    return grey.resize((THUMB, THUMB), Image.Resampling.LANCZOS).tobytes()


def _small(image: Image.Image) -> np.ndarray:
    """The 32x32 grey thumbnail pHash works on, exactly as imagehash makes it."""
    return np.asarray(image.convert("L").resize((_IMG, _IMG), Image.Resampling.LANCZOS))


def phash_batch(smalls: np.ndarray) -> list[str]:
    """pHash of a stack of 32x32 grey thumbnails (B, 32, 32), each equal to imagehash's.

    The DCT is two small matrix products for the whole batch; only the 8x8 lowest frequencies are
    computed. Where the two middle coefficients (nearly) tie, round-off could flip a bit at the
    median, so that image takes imagehash's own scipy path.
    """
    if len(smalls) == 0:
        return []
    low = np.matmul(np.matmul(_DCT_LOW, smalls.astype(np.float64)), _DCT_LOW.T)
    low = low.reshape(len(smalls), HASH_SIZE * HASH_SIZE)
    ordered = np.sort(low, axis=1)
    mid = HASH_SIZE * HASH_SIZE // 2
    scale = np.maximum(1.0, np.abs(ordered).max(axis=1))
    for i in np.flatnonzero(ordered[:, mid] - ordered[:, mid - 1] < 1e-6 * scale):
        import scipy.fftpack

        full = scipy.fftpack.dct(scipy.fftpack.dct(smalls[i], axis=0), axis=1)
        low[i] = full[:HASH_SIZE, :HASH_SIZE].ravel()
        ordered[i] = np.sort(low[i])
    med = (ordered[:, mid - 1] + ordered[:, mid]) / 2.0
    packed = np.packbits(low > med[:, None], axis=1)
    return [row.tobytes().hex() for row in packed]


def phash_hex(image: Image.Image) -> str:
    """Equal to ``str(imagehash.phash(image))``."""
    return phash_batch(_small(image)[None])[0]


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
    exif_orientation: int | None = None  # set when EXIF rotated the image (2..8)
    phash_mirror: str | None = None
    thumb: builtins.bytes | None = None  # 48x48 grey, for verifying near duplicates
    problem: Code | None = None
    detail: str = ""
    brightness: float | None = None  # medata.properties: measured in the same decode
    contrast: float | None = None
    sharpness: float | None = None
    entropy: float | None = None
    colour_spread: float | None = None
    aspect: float | None = None
    grey_p01: float | None = None
    grey_p99: float | None = None


def _decode(key: str, data: bytes) -> tuple[dict[str, Any], np.ndarray | None]:
    """ProbeResult fields of one file, and its pHash thumbnail when it decoded fully.

    Callers silence PIL's DecompressionBombWarning: the pixel limit is enforced here.
    """
    sha = hashlib.sha256(data).hexdigest()
    base: dict[str, Any] = {"key": key, "bytes": len(data), "sha256": sha}
    if not data:
        return {**base, "problem": Code.EMPTY_FILE, "detail": "file has zero bytes"}, None
    try:
        im: Image.Image = open_image(data)
    except Image.DecompressionBombError as exc:
        return {**base, "problem": Code.TOO_LARGE, "detail": _one_line(exc)}, None
    except Image.UnidentifiedImageError:
        return {**base, **_unidentified(data)}, None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a data problem, recorded
        return {**base, "problem": Code.UNDECODABLE, "detail": _one_line(exc)}, None
    w, h = im.size
    base.update(width=w, height=h, mode=im.mode, format=im.format)
    if w * h > MAX_PIXELS:
        detail = f"{w}x{h} pixels is over the limit of {MAX_PIXELS:,}"
        return {**base, "problem": Code.TOO_LARGE, "detail": detail}, None
    try:
        im.load()
        # Parsing EXIF costs ~150 us: only for files that carry it.
        orientation = im.getexif().get(_ORIENTATION, 1) if "exif" in im.info else 1
        if orientation in range(2, 9):  # decoded upright, and recorded
            im = ImageOps.exif_transpose(im)
            w, h = im.size
            base.update(width=w, height=h, exif_orientation=orientation)
        base["pixel_sha256"] = pixel_sha256(im)
        grey = im.convert("L")
        small = _small(grey)
        base["thumb"] = _thumb(grey)
        base["_colour"] = colour_sample(im)  # for colour_spread, measured with the batch
    except Exception as exc:  # noqa: BLE001
        msg = _one_line(exc)
        reason = Code.TRUNCATED if "truncated" in msg.lower() else Code.UNDECODABLE
        return {**base, "problem": reason, "detail": msg}, None
    return base, small


def pixel_sha256(im: Image.Image) -> str:
    """sha256 of what a viewer sees: palette images hashed as their colours, not their indices."""
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    head = f"{im.mode}\0{im.width}x{im.height}\0".encode()
    return hashlib.sha256(head + im.tobytes()).hexdigest()


def _unidentified(data: bytes) -> dict[str, Any]:
    head = data[:16]
    for magic, name in _OTHER_FORMATS:
        if head.startswith(magic):
            detail = f"{name} is not an allowed format ({', '.join(ALLOWED_FORMATS)})"
            return {"problem": Code.FORMAT_NOT_ALLOWED, "detail": detail}
    if head[4:12] in (b"ftypavif", b"ftypavis", b"ftypheic", b"ftypheix", b"ftypmif1"):
        detail = f"AVIF/HEIF is not an allowed format ({', '.join(ALLOWED_FORMATS)})"
        return {"problem": Code.FORMAT_NOT_ALLOWED, "detail": detail}
    return {"problem": Code.UNDECODABLE, "detail": NOT_AN_IMAGE}


NOT_AN_IMAGE = "cannot identify image file"  # the detail of bytes no decoder recognises


def is_not_image(r: ProbeResult) -> bool:
    """Undecodable because no decoder recognises the bytes (not a damaged image)."""
    return r.problem is Code.UNDECODABLE and r.detail == NOT_AN_IMAGE


def probe_bytes(key: str, data: bytes) -> ProbeResult:
    """Everything medata needs from one file, decoding it once, fully."""
    return _finish([_checked_decode(key, data)])[0]


def _checked_decode(key: str, data: bytes) -> tuple[dict[str, Any], np.ndarray | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return _decode(key, data)


def _finish(decoded: list[tuple[dict[str, Any], np.ndarray | None]]) -> list[ProbeResult]:
    """Add the pHash, computed for the whole batch at once."""
    ok = [i for i, (_, small) in enumerate(decoded) if small is not None]
    smalls = np.stack([decoded[i][1] for i in ok]) if ok else None  # type: ignore[misc]
    hashes = phash_batch(smalls) if smalls is not None else []
    mirrors = phash_batch(smalls[:, :, ::-1]) if smalls is not None else []
    for i, h, m in zip(ok, hashes, mirrors, strict=True):
        decoded[i][0]["phash"] = h
        decoded[i][0]["phash_mirror"] = m
    if smalls is not None:
        _add_properties([decoded[i][0] for i in ok], smalls)
    return [ProbeResult(**fields) for fields, _ in decoded]


def _add_properties(rows: list[dict[str, Any]], smalls: np.ndarray) -> None:
    """``medata.properties`` of every decoded image (``smalls``: their 32x32 grey thumbnails),
    for the whole batch at once."""
    colours = [(k, row.pop("_colour")) for k, row in enumerate(rows)]
    measured = grey_properties(smalls)
    for name, values in measured.items():
        for row, v in zip(rows, values.tolist(), strict=True):
            row[name] = v
    coloured = [(k, c) for k, c in colours if c is not None]
    if coloured:
        spread = colour_spread(np.stack([c for _, c in coloured])).tolist()
        for (k, _), v in zip(coloured, spread, strict=True):
            rows[k]["colour_spread"] = v
    for row in rows:
        row["aspect"] = round(row["width"] / row["height"], 4) if row["height"] else None


def _one_line(exc: BaseException) -> str:
    """One line, no memory addresses: the same file gives the same detail in every run."""
    text = _ADDRESS.sub("<data>", f"{type(exc).__name__}: {exc}").splitlines()
    return text[0][:200] if text else type(exc).__name__


def probe_partition(ref: InputRef, keys: Sequence[str]) -> list[ProbeResult]:
    """Probe one partition of one input's entries. Pure apart from reading the input."""
    decoded: list[tuple[dict[str, Any], np.ndarray | None]] = []
    with Reader(ref) as reader, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for key in keys:
            try:
                data = reader.read(key)
            except Refused as exc:  # special file, too large, compression bomb
                fields = {"key": key, "bytes": 0, "sha256": "", "problem": exc.reason,
                          "detail": exc.detail}  # fmt: skip
                decoded.append((fields, None))
                continue
            except Exception as exc:  # noqa: BLE001 - permission, I/O, bad zip member
                fields = {
                    "key": key,
                    "bytes": 0,
                    "sha256": "",
                    "problem": Code.UNREADABLE,
                    "detail": _one_line(exc),
                }
                decoded.append((fields, None))
                continue
            decoded.append(_decode(key, data))
    return _finish(decoded)


def partitions(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(keys), size):
        yield list(keys[i : i + size])


def one_blas_thread() -> None:
    """A process pool's initializer: each worker does its matrix products on one thread. The
    workers already use every core; left alone, each one's BLAS would start a thread per core
    too, and the view search on two workers of a two-core machine ran twice as slow as on
    one. (Dask's workers get the same limit from Dask itself.)"""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def pool_context() -> BaseContext:
    """Fork is cheapest, but forking a process that runs other threads can deadlock a child on a
    lock held at fork time; then workers come from a clean fork server instead."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload(["medata.probe"])
    return server


def probe_many(
    tasks: Sequence[tuple[InputRef, Sequence[str]]],
    workers: int | None = None,
    partition_size: int = 256,
    on_progress: Callable[[int], None] | None = None,
    on_results: Callable[[InputRef, list[ProbeResult]], None] | None = None,
    client: Any = None,
) -> dict[tuple[str, str], ProbeResult]:
    """Probe every (input, keys) task over a process pool, or on a Dask cluster through
    ``client`` (partitions of ``medata.cluster.PARTITION``); results keyed by (location, key)."""
    if client is not None:
        from medata.cluster import PARTITION

        partition_size = max(partition_size, PARTITION)
    jobs = [(ref, part) for ref, keys in tasks for part in partitions(keys, partition_size)]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    out: dict[tuple[str, str], ProbeResult] = {}

    def collect(ref: InputRef, results: list[ProbeResult]) -> None:
        for r in results:
            out[(ref.location, r.key)] = r
        if on_results is not None:
            on_results(ref, results)
        if on_progress is not None:
            on_progress(len(results))

    if client is not None:
        from medata.cluster import map_streaming

        map_streaming(client, probe_partition, jobs, lambda k, res: collect(jobs[k][0], res))
        return out
    if workers <= 1 or len(jobs) <= 1:
        for ref, part in jobs:
            collect(ref, probe_partition(ref, part))
        return out
    with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
        futures: list[Any] = [(ref, pool.submit(probe_partition, ref, part)) for ref, part in jobs]
        for ref, fut in futures:
            collect(ref, fut.result())
    return out
