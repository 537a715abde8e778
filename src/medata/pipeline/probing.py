"""Stage 2, probe: one read and one decode per image (a process pool over partitions, results
kept in the resume cache as they come); the probe's columns and each image's fate join the
frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from medata.inputs import FORMAT_EXTENSIONS, InputRef, stem_and_ext
from medata.probe import ProbeResult, probe_many
from medata.progress import Progress
from medata.properties import PROPERTY_COLUMNS
from medata.records import Status
from medata.resume import ProbeCache

FORMAT_EXT = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "BMP": ".bmp",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "PPM": ".ppm",
}
PROBE_COLUMNS = ("bytes", "sha256", "pixel_sha256", "phash", "width", "height", "mode", "format",
                 "exif_orientation", "thumb", "phash_mirror", *PROPERTY_COLUMNS)  # fmt: skip


def probe(
    frame: pd.DataFrame,
    progress: Progress,
    workers: int | None = None,
    cache: ProbeCache | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Every row marked ``_probe`` decoded once (or taken from ``cache``), over the process pool
    or on a Dask cluster (``client``); returns the frame with the probe's columns and fates."""
    todo = frame.index[frame["_probe"].to_numpy()]
    progress.stage("probe", len(todo))
    refs, keys = frame.loc[todo, "_ref"].tolist(), frame.loc[todo, "_key"].tolist()
    paths, fps = frame.loc[todo, "source_path"].tolist(), frame.loc[todo, "_fp"].tolist()
    tasks: dict[str, tuple[InputRef, list[str]]] = {}
    cached: dict[int, ProbeResult] = {}
    cache_keys: dict[tuple[str, str], str] = {}
    for n, (ref, key, path, fp) in enumerate(zip(refs, keys, paths, fps, strict=True)):
        ckey = ProbeCache.key(ref.location, path, fp)
        hit = cache.get(ckey, key) if cache is not None else None
        if hit is not None:
            cached[n] = hit
            continue
        cache_keys[(ref.location, key)] = ckey
        tasks.setdefault(ref.location, (ref, []))[1].append(key)
    if cached:
        progress.advance(len(cached))

    def remember(ref: InputRef, results: list[ProbeResult]) -> None:
        if cache is not None:
            cache.put([(cache_keys[(ref.location, x.key)], x) for x in results])

    found = probe_many(list(tasks.values()), workers=workers, on_progress=progress.advance,
                       on_results=remember, client=client)  # fmt: skip
    results = [cached[n] if n in cached else found[(ref.location, key)]
               for n, (ref, key) in enumerate(zip(refs, keys, strict=True))]  # fmt: skip
    return _with_results(frame.copy(), todo, results)


def _with_results(frame: pd.DataFrame, todo: pd.Index, results: list[ProbeResult]) -> pd.DataFrame:
    if len(todo) == 0:
        return frame
    values: dict[str, list[Any]] = {c: [] for c in PROBE_COLUMNS}
    fates: dict[str, list[Any]] = {"status": [], "reason": [], "detail": []}
    old = frame.loc[todo, ["status", "reason", "detail", "source_path"]]
    for r, status, reason, detail, path in zip(results, *(old[c].tolist() for c in old),
                                                strict=True):  # fmt: skip
        for c in PROBE_COLUMNS:
            values[c].append(getattr(r, c) or None if c == "sha256" else getattr(r, c))
        status, reason, detail = _fate(r, _na(status), _na(reason), _na(detail), path)
        fates["status"].append(status)
        fates["reason"].append(reason)
        fates["detail"].append(detail)
    for c, v in (values | fates).items():
        frame.loc[todo, c] = pd.array(v, dtype=frame[c].dtype)
    return frame


def _na(value: Any) -> Any:
    return None if value is pd.NA or value is None else value


def _fate(r: ProbeResult, status: str | None, reason: str | None, detail: str | None,
          path: str) -> tuple[str | None, str | None, str | None]:  # fmt: skip
    """A row excluded by its label stays excluded (a decode problem is only noted); otherwise
    a decode problem rejects it, and a file whose extension lies is kept with a warning."""
    if status is not None:
        if r.problem is not None:
            detail = f"{detail}; also {r.problem.value}: {r.detail}"
        return status, reason, detail
    if r.problem is not None:
        return Status.REJECTED.value, r.problem.value, r.detail
    ext = stem_and_ext(path)[1]
    fmt = r.format or ""
    if fmt in FORMAT_EXTENSIONS and ext not in FORMAT_EXTENSIONS[fmt]:
        real = FORMAT_EXT.get(fmt, ext)
        detail = f"warning: extension {ext!r} but the file is {r.format}; written as {real}"
    return Status.KEPT.value, None, detail
