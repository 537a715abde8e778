"""Stage 1, plan: every file of every input becomes a row of the manifest frame, placed (source,
label, split, group) or given its fate (debris, not an image, unknown class, unsafe entry).
Nothing is read but the listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from medata.ckplus import subject_of
from medata.errors import UsageError
from medata.guard import MAX_FILE_BYTES
from medata.inputs import (
    IMAGE_EXTS,
    Entry,
    InputRef,
    is_debris,
    list_entries,
    open_input,
    stem_and_ext,
)
from medata.labels import EXCLUDE, LabelMap
from medata.manifest import to_frame
from medata.pipeline.options import DetectedInput, InputSpec
from medata.problems import Code
from medata.records import Status
from medata.sources import detect, get_source

ARCHIVE_EXTS = frozenset({".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz"})
# Work columns: what later stages need about each row that the manifest does not keep. ``_ref``
# reopens the input, ``_key`` addresses the file in it, ``_fp`` keys the resume cache,
# ``_mtime_ns`` is the source's mtime (given to the copy), ``_probe`` says the row is decoded.
WORK = ("_ref", "_key", "_fp", "_mtime_ns", "_probe")


def plan(
    specs: Sequence[InputSpec], labels: LabelMap, limit: int = MAX_FILE_BYTES
) -> tuple[list[DetectedInput], pd.DataFrame]:
    """The frame of every input file, sorted by (source, input, path), without probe columns."""
    if not specs:
        raise UsageError("no inputs given")
    detected: list[DetectedInput] = []
    records: list[dict[str, Any]] = []
    for spec in specs:
        found, planned = plan_input(spec, labels, limit)
        detected.append(found)
        records.extend(planned)
    records.sort(key=lambda r: (r["source"], r["input"], r["source_path"], r["_key"]))
    frame = to_frame(records)
    for col in WORK[:-1]:
        frame[col] = pd.Series([r.get(col) for r in records], dtype=object)
    frame["_probe"] = pd.Series([bool(r.get("_probe")) for r in records], dtype=bool)
    return detected, frame


def plan_input(
    spec: InputSpec, labels: LabelMap, limit: int = MAX_FILE_BYTES
) -> tuple[DetectedInput, list[dict[str, Any]]]:
    """List one input and place every entry (records, before they join the frame)."""
    ref = open_input(spec.path, limit)
    entries = list_entries(ref)
    images = [e.path for e in entries if _is_candidate(e)]
    if spec.kind:
        source, score = get_source(spec.kind), 1.0
    else:
        source, score = detect(images, labels)
    detected = DetectedInput(ref, source.name, score, spec.kind is not None, len(entries))
    return detected, [_plan_entry(ref, e, source.name, labels) for e in entries]


def _is_candidate(e: Entry) -> bool:
    return e.problem is None and not is_debris(e.path) and stem_and_ext(e.path)[1] in IMAGE_EXTS


def _plan_entry(ref: InputRef, e: Entry, source_name: str, labels: LabelMap) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_mtime_ns": e.mtime_ns,
        "source": source_name,
        "input": ref.name,
        "source_path": e.path,
        "bytes": e.size,
        "_key": e.key,
        "_fp": e.fingerprint,
        "_ref": ref,
    }
    ext = stem_and_ext(e.path)[1]
    if e.problem is not None:
        return _fate(row, Status.REJECTED, e.problem, e.detail)
    if is_debris(e.path):
        return _fate(row, Status.EXCLUDED, Code.DEBRIS, "system or hidden file")
    if ext in ARCHIVE_EXTS:
        return _fate(
            row, Status.EXCLUDED, Code.NESTED_ARCHIVE, "archive inside the input; not opened"
        )
    if ext not in IMAGE_EXTS:
        return _fate(row, Status.EXCLUDED, Code.NOT_IMAGE_FILE, f"extension {ext or '(none)'!r}")
    place = get_source(source_name).place(e.path, labels)
    row.update(
        source_label=place.source_label,
        source_split=place.source_split,
        split=place.split,
        group=place.group or subject_of(e.path),  # CK+ frames under any source
    )
    target = labels.lookup(place.source_label) if place.source_label else None
    row["_probe"] = True  # excluded images are probed too: their hashes matter for dedupe
    if target == EXCLUDE:
        return _fate(
            row,
            Status.EXCLUDED,
            Code.LABEL_EXCLUDED,
            f"class {place.source_label!r} is not one of the six",
        )
    if target is None:
        return _fate(
            row,
            Status.EXCLUDED,
            Code.LABEL_UNKNOWN,
            f"no class folder on the path (nearest folder {place.source_label!r})",
        )
    row["label"] = target
    return row


def _fate(row: dict[str, Any], status: Status, reason: Code, detail: str) -> dict[str, Any]:
    row.update(status=status.value, reason=reason.value, detail=detail)
    return row
