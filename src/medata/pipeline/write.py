"""Last stage, write: the kept files copied (verified) into the staging folder, moved to their
names, and the two tables written. ``medata.output`` makes it atomic."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from medata.manifest import MANIFEST_FILE, annotations_frame, conform, write_manifest
from medata.output import ANNOTATIONS_FILE, CopyItem, copy_files, place_files, write_csv
from medata.problems import Code
from medata.records import Status

INCOMING = ".medata-incoming"  # inside the staging folder: verified copies before naming


def staged_name(position: int) -> str:
    """Where the ``position``-th copied file waits (in INCOMING) until the kept ones are named."""
    return f"{position:08d}"


def copy_kept(
    frame: pd.DataFrame, rows: pd.Index, staging: Path, link: str, advance: Callable[[int], None]
) -> pd.DataFrame:
    """Copy ``rows`` (the kept rows, in order) into ``staging/INCOMING``; returns the frame with
    their file times, and a row whose bytes changed since the probe rejected."""
    items = [CopyItem(ref, key, sha, f"{INCOMING}/{staged_name(k)}",
                      None if mtime is None else int(mtime))
             for k, (ref, key, sha, mtime) in enumerate(zip(
                 frame.loc[rows, "_ref"], frame.loc[rows, "_key"], frame.loc[rows, "sha256"],
                 frame.loc[rows, "_mtime_ns"], strict=True))]  # fmt: skip
    times = copy_files(staging, items, link, advance)
    frame = frame.copy()
    frame.loc[rows, "mtime_ns"] = pd.array(times, dtype="Int64")
    changed = rows[[t is None for t in times]]
    if len(changed):
        frame.loc[changed, "status"] = Status.REJECTED.value
        frame.loc[changed, "reason"] = Code.CHANGED_DURING_MERGE.value
        frame.loc[changed, "detail"] = "file changed between probe and copy"
    return frame


def write_dataset(
    frame: pd.DataFrame, copied: pd.Index, staging: Path, meta: dict[str, str]
) -> pd.DataFrame:
    """Move each copied row still kept from INCOMING to its ``path`` (every class folder made),
    then write manifest.parquet and annotations.csv; returns the manifest."""
    paths = frame.loc[copied, "path"].tolist()
    moves = [(staging / INCOMING / staged_name(k), p)
             for k, p in enumerate(paths) if isinstance(p, str)]  # fmt: skip
    place_files(staging, moves)
    shutil.rmtree(staging / INCOMING, ignore_errors=True)
    manifest = conform(frame)
    write_manifest(manifest, staging / MANIFEST_FILE, meta)
    write_csv(annotations_frame(manifest), staging / ANNOTATIONS_FILE)
    return manifest
