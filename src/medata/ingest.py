"""merge(inputs) -> one row per input file with its fate; written atomically into one layout.

Flow: list each input's entries -> sort out debris and non-images -> detect the source layout ->
place each image (label, split) -> probe every candidate once (process pool) -> decide its status
-> name the kept files -> write files, annotations.csv and manifest.parquet in a staging folder ->
rename into place.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from medata.dedupe.groups import Groups, find_groups
from medata.dedupe.resolve import Decision, DedupePolicy, dedupe_meta, resolve
from medata.errors import UsageError
from medata.guard import MAX_FILE_BYTES
from medata.inputs import (
    FORMAT_EXTENSIONS,
    IMAGE_EXTS,
    Entry,
    InputRef,
    is_debris,
    list_entries,
    open_input,
    stem_and_ext,
)
from medata.labels import EXCLUDE, SPLIT_WORD_IN_NAME, LabelMap
from medata.manifest import MANIFEST_FILE, annotations_frame, to_frame, write_manifest
from medata.output import (
    ANNOTATIONS_FILE,
    INCOMING,
    check_output,
    copy_files,
    place_files,
    staged_output,
    write_csv,
)
from medata.probe import ProbeResult, probe_many
from medata.progress import NullProgress, Progress
from medata.records import CLASSES, Reason, Status
from medata.resume import ProbeCache, cache_path
from medata.sources import detect, get_source

ARCHIVE_EXTS = frozenset({".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz"})
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

LinkMode = Literal["copy", "hardlink", "symlink"]


@dataclass(frozen=True)
class InputSpec:
    path: Path
    kind: str | None = None  # a registered source name, or None to detect

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """``path`` or ``kind=path``."""
        kind, sep, rest = text.partition("=")
        if sep and kind and "/" not in kind and not Path(text).exists():
            get_source(kind)  # fails with the list of known kinds
            return cls(Path(rest), kind.strip().lower())
        return cls(Path(text))


@dataclass(frozen=True)
class Resplit:
    test_size: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.test_size < 1.0:
            raise UsageError(f"--test-size must be between 0 and 1, got {self.test_size}")


@dataclass
class MergeOptions:
    labels: LabelMap = field(default_factory=LabelMap)
    resplit: Resplit | None = None
    link: LinkMode = "copy"
    replace: bool = False
    workers: int | None = None
    dedupe: DedupePolicy | None = field(default_factory=DedupePolicy)  # None: keep every copy
    resume: bool = True  # reuse probe results of an interrupted run into the same DIR
    max_file_bytes: int = MAX_FILE_BYTES  # per file or archive member, counted as read

    def check(self) -> None:
        """Refuse nonsensical options before any work."""
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers must be 1 or more, got {self.workers}")
        if self.max_file_bytes < 1:
            raise UsageError("--max-file-mb must be more than 0")
        if self.link not in ("copy", "hardlink", "symlink"):
            raise UsageError(f"--link must be copy, hardlink or symlink, got {self.link!r}")


@dataclass
class DetectedInput:
    ref: InputRef
    source: str
    score: float
    explicit: bool
    files: int


@dataclass
class MergeResult:
    out: Path
    manifest: pd.DataFrame
    inputs: list[DetectedInput]
    resumed: int = 0  # probe results reused from an interrupted run

    @property
    def kept(self) -> pd.DataFrame:
        return self.manifest[self.manifest["status"] == Status.KEPT.value]


def plan_input(
    spec: InputSpec, labels: LabelMap, limit: int = MAX_FILE_BYTES
) -> tuple[DetectedInput, list[dict[str, Any]]]:
    """List one input and place every entry; rows still lack the probe's columns."""
    ref = open_input(spec.path, limit)
    entries = list_entries(ref)
    images = [e.path for e in entries if _is_candidate(e)]
    if spec.kind:
        source, score = get_source(spec.kind), 1.0
    else:
        source, score = detect(images, labels)
    detected = DetectedInput(ref, source.name, score, spec.kind is not None, len(entries))
    rows = [_plan_entry(ref, e, source.name, labels) for e in entries]
    return detected, rows


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
        return _fate(row, Status.EXCLUDED, Reason.DEBRIS, "system or hidden file")
    if ext in ARCHIVE_EXTS:
        return _fate(
            row, Status.EXCLUDED, Reason.NESTED_ARCHIVE, "archive inside the input; not opened"
        )
    if ext not in IMAGE_EXTS:
        return _fate(row, Status.EXCLUDED, Reason.NOT_IMAGE_FILE, f"extension {ext or '(none)'!r}")
    place = get_source(source_name).place(e.path, labels)
    row.update(
        source_label=place.source_label,
        source_split=place.source_split,
        split=place.split,
        group=place.group,
    )
    target = labels.lookup(place.source_label) if place.source_label else None
    row["_probe"] = True  # excluded images are probed too: their hashes matter for dedupe
    if target == EXCLUDE:
        return _fate(
            row,
            Status.EXCLUDED,
            Reason.LABEL_EXCLUDED,
            f"class {place.source_label!r} is not one of the six",
        )
    if target is None:
        return _fate(
            row,
            Status.EXCLUDED,
            Reason.LABEL_UNKNOWN,
            f"no class folder on the path (nearest folder {place.source_label!r})",
        )
    row["label"] = target
    return row


def _fate(row: dict[str, Any], status: Status, reason: Reason, detail: str) -> dict[str, Any]:
    row.update(status=status.value, reason=reason.value, detail=detail)
    return row


def _apply_probe(row: dict[str, Any], r: ProbeResult) -> None:
    row.update(
        bytes=r.bytes,
        sha256=r.sha256 or None,
        pixel_sha256=r.pixel_sha256,
        phash=r.phash,
        width=r.width,
        height=r.height,
        mode=r.mode,
        format=r.format,
        exif_orientation=r.exif_orientation,
        thumb=r.thumb,
        phash_mirror=r.phash_mirror,
    )
    if "status" in row:  # already excluded by its label; a decode problem is only noted
        if r.problem is not None:
            row["detail"] = f"{row['detail']}; also {r.problem.value}: {r.detail}"
    elif r.problem is not None:
        _fate(row, Status.REJECTED, r.problem, r.detail)
    else:
        row["status"] = Status.KEPT.value
        ext = stem_and_ext(row["source_path"])[1]
        fmt = r.format or ""
        if fmt in FORMAT_EXTENSIONS and ext not in FORMAT_EXTENSIONS[fmt]:
            real = FORMAT_EXT.get(fmt, ext)
            row["detail"] = (
                f"warning: extension {ext!r} but the file is {r.format}; written as {real}"
            )


def plan_and_probe(
    specs: Sequence[InputSpec],
    options: MergeOptions,
    progress: Progress,
    cache: ProbeCache | None = None,
) -> tuple[list[DetectedInput], list[dict[str, Any]]]:
    """Every input file as a row with its probe columns and fate; nothing is written."""
    if not specs:
        raise UsageError("no inputs given")
    detected: list[DetectedInput] = []
    rows: list[dict[str, Any]] = []
    for spec in specs:
        found, planned = plan_input(spec, options.labels, options.max_file_bytes)
        detected.append(found)
        rows.extend(planned)
    rows.sort(key=lambda r: (r["source"], r["input"], r["source_path"], r["_key"]))
    todo = [r for r in rows if r.get("_probe")]
    progress.stage("probe", len(todo))
    tasks: dict[str, tuple[InputRef, list[str]]] = {}
    cached: dict[int, ProbeResult] = {}
    cache_keys: dict[tuple[str, str], str] = {}
    for n, r in enumerate(todo):
        loc = r["_ref"].location
        ckey = ProbeCache.key(loc, r["source_path"], r["_fp"])
        hit = cache.get(ckey, r["_key"]) if cache is not None else None
        if hit is not None:
            cached[n] = hit
            continue
        cache_keys[(loc, r["_key"])] = ckey
        tasks.setdefault(loc, (r["_ref"], []))[1].append(r["_key"])
    if cached:
        progress.advance(len(cached))

    def remember(ref: InputRef, results: list[ProbeResult]) -> None:
        if cache is not None:
            cache.put([(cache_keys[(ref.location, x.key)], x) for x in results])

    results = probe_many(list(tasks.values()), workers=options.workers,
                         on_progress=progress.advance, on_results=remember)  # fmt: skip
    for n, r in enumerate(todo):
        _apply_probe(r, cached[n] if n in cached else results[(r["_ref"].location, r["_key"])])
    return detected, rows


def manifest_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return to_frame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])


def merge(
    specs: Sequence[InputSpec],
    out: Path,
    options: MergeOptions | None = None,
    progress: Progress | None = None,
) -> MergeResult:
    """Ingest ``specs`` into ``out``; returns the manifest (one row per input file)."""
    options = options or MergeOptions()
    progress = progress or NullProgress()
    if not specs:
        raise UsageError("no inputs given")
    options.check()
    _check_out_not_inside_inputs(specs, out)
    check_output(out, options.replace)  # refused before any work, leaving nothing behind
    cache = ProbeCache(cache_path(out)) if options.resume else None
    try:
        return _merge(specs, out, options, progress, cache)
    except Exception:
        if cache is not None:
            cache.close(delete=True)  # a failed merge leaves nothing beside DIR
        raise
    except BaseException:
        if cache is not None:
            cache.close(delete=False)  # interrupted: the next run resumes from it
        raise


def _merge(specs: Sequence[InputSpec], out: Path, options: MergeOptions, progress: Progress,
           cache: ProbeCache | None) -> MergeResult:  # fmt: skip
    detected, rows = plan_and_probe(specs, options, progress, cache)
    inputs_meta = json.dumps(sorted([d.ref.name, d.source] for d in detected))
    meta = {"medata.inputs": inputs_meta, "medata.dedupe": dedupe_meta(options.dedupe)}
    with staged_output(out, options.replace) as staging:
        # Copy (and verify) first, decide after: a file that changed since the probe is rejected
        # before any group picks it as the copy to keep.
        candidates = [r for r in rows if r.get("status") == Status.KEPT.value]
        incoming = staging / INCOMING
        for n, r in enumerate(candidates):
            r["path"] = f"{n:08d}"
        groups = None
        if options.dedupe is None:
            progress.stage("copy", len(candidates))
            copy_files(incoming, candidates, options.link, progress.advance)
        else:
            groups = _copy_while_grouping(rows, candidates, incoming, options, progress)
        if options.resplit is not None:
            resplit([r for r in rows if r.get("status") == Status.KEPT.value], options.resplit)
        if groups is not None and options.dedupe is not None:
            apply_decisions(rows, *resolve(manifest_frame(rows), groups, options.dedupe))
        kept = [r for r in rows if r.get("status") == Status.KEPT.value]
        staged = {id(r): incoming / r["path"] for r in kept}
        for r in candidates:
            r["path"] = None
            if r.get("status") != Status.KEPT.value:
                r.pop("mtime_ns", None)
        assign_names(kept)
        name_kept_copies(rows)
        place_files(staging, [(staged[id(r)], r["path"]) for r in kept])
        shutil.rmtree(incoming, ignore_errors=True)
        manifest = manifest_frame(rows)
        write_manifest(manifest, staging / MANIFEST_FILE, meta)
        write_csv(annotations_frame(manifest), staging / ANNOTATIONS_FILE)
    if cache is not None:
        cache.close(delete=True)
    return MergeResult(out, manifest, detected, cache.hits if cache is not None else 0)


def _copy_while_grouping(
    rows: list[dict[str, Any]],
    candidates: list[dict[str, Any]],
    incoming: Path,
    options: MergeOptions,
    progress: Progress,
) -> Groups:
    """Find the duplicate groups (they need only the probe's results) while a thread copies the
    kept files. The verification workers are started before that thread (a process is never
    forked while another thread runs). A file that changed before its copy is rejected by the
    copy; then the groups are found again without it: the result is that of one step after
    the other."""
    from concurrent.futures import ThreadPoolExecutor

    from medata.dedupe.verify import verification_pool
    from medata.progress import Held

    assert options.dedupe is not None
    threshold = options.dedupe.threshold
    frame = manifest_frame(rows)  # a snapshot: the copy updates the rows
    held = Held(progress)
    with verification_pool(options.workers) as workers:
        copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medata-copy")
        held.stage("copy", len(candidates))
        copying = copier.submit(copy_files, incoming, candidates, options.link, held.advance)
        try:
            groups = find_groups(frame, threshold, workers=options.workers, progress=progress,
                                 pool=workers)  # fmt: skip
        except BaseException:
            held.cancel()
            copier.shutdown(wait=True, cancel_futures=True)
            raise
        held.release()
        try:
            copying.result()
        finally:
            copier.shutdown(wait=True)
        if any(r.get("status") != Status.KEPT.value for r in candidates):
            groups = find_groups(manifest_frame(rows), threshold, workers=options.workers,
                                 progress=progress, pool=workers)  # fmt: skip
    _write_groups(rows, groups)
    return groups


def mark_groups(
    rows: list[dict[str, Any]],
    policy: DedupePolicy,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Groups:
    """Find duplicate groups and write ``dup_group``/``dup_kind``/``dup_score`` into the rows."""
    groups = find_groups(manifest_frame(rows), policy.threshold, workers=workers,
                         progress=progress)  # fmt: skip
    _write_groups(rows, groups)
    return groups


def _write_groups(rows: list[dict[str, Any]], groups: Groups) -> None:
    m = groups.member
    for i, gid, kind, score in zip(m["row"], m["group"], m["kind"], m["score"], strict=True):
        rows[int(i)].update(dup_group=gid, dup_kind=kind,
                            dup_score=None if np.isnan(score) else float(score))  # fmt: skip


def apply_decisions(
    rows: list[dict[str, Any]], decisions: list[Decision], moves: dict[int, str]
) -> None:
    for i, split in moves.items():
        rows[i]["split"] = split
    for d in decisions:
        rows[d.row].update(status=d.status.value, reason=d.reason.value if d.reason else None,
                           _decision=d, detail=d.detail(None, None))  # fmt: skip


def name_kept_copies(rows: list[dict[str, Any]]) -> None:
    """Once output paths exist, each duplicate or leak names the file kept in its place."""
    for row in rows:
        d = row.get("_decision")
        if d is not None and d.ref is not None:
            other = rows[d.ref]
            where = other.get("path") or f"{other['input']}:{other['source_path']}"
            row["detail"] = d.detail(where, row.get("dup_group"))


def _check_out_not_inside_inputs(specs: Sequence[InputSpec], out: Path) -> None:
    target = out.resolve()
    for spec in specs:
        src = spec.path.resolve()
        if spec.path.is_dir() and (target == src or src in target.parents):
            raise UsageError(f"output folder {out} must not be inside the input {spec.path}")
        if target in src.parents or target == src:
            raise UsageError(f"input {spec.path} must not be inside the output folder {out}")


def _split_units(kept: list[dict[str, Any]]) -> list[str]:
    """For each row, the key of its unit: union of source groups and duplicate groups."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    own = []
    for row in kept:
        key = (f"{row['source']}:{row['group']}" if row.get("group")
               else f"file:{row['source']}:{row['input']}:{row['source_path']}")  # fmt: skip
        own.append(key)
        if row.get("dup_group"):
            a, b = find(key), find(f"dup:{row['dup_group']}")
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(k) for k in own]


def slug(stem: str, limit: int = 48) -> str:
    """ASCII, lower case, split words removed, at most ``limit`` characters."""
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    text = SPLIT_WORD_IN_NAME.sub(" ", text)
    text = "_".join(re.findall(r"[a-z0-9]+", text))
    return text[:limit].strip("_") or "img"


def assign_names(kept: list[dict[str, Any]]) -> None:
    """Give each kept row ``path = <split>/<Class>/<source>-<stem>-<hash8><ext>``.

    The hash of (source, input, source path) makes names unique and stable; names are lower case,
    so they stay distinct on case-insensitive file systems; a counter settles any remaining clash.
    """
    used: set[str] = set()
    for row in kept:
        stem, ext = stem_and_ext(row["source_path"])
        ext = FORMAT_EXT.get(row.get("format") or "", ext or ".img")
        key = f"{row['source']}\0{row['input']}\0{row['source_path']}".encode()
        h8 = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:8]
        name = f"{row['source']}-{slug(stem)}-{h8}"
        path = f"{row['split']}/{row['label']}/{name}{ext}"
        n = 2
        while path.casefold() in used:
            path = f"{row['split']}/{row['label']}/{name}-{n}{ext}"
            n += 1
        used.add(path.casefold())
        row["path"] = path


def resplit(kept: list[dict[str, Any]], opts: Resplit) -> None:
    """Re-assign train/test: seeded, stratified by class, whole units on one side.

    A unit is a connected set of rows that share a source group (a CK+ subject) or a duplicate
    group: copies of one picture and frames of one subject never straddle the split."""
    units = _split_units(kept)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row, unit in zip(kept, units, strict=True):
        groups.setdefault(unit, []).append(row)
    per_class = Counter(row["label"] for row in kept)
    target = {c: round(opts.test_size * per_class[c]) for c in CLASSES}
    in_test: Counter[str] = Counter()

    def order(g: str) -> str:
        return hashlib.sha256(f"{opts.seed}\0{g}".encode()).hexdigest()

    for gkey in sorted(groups, key=order):
        members = groups[gkey]
        counts = Counter(m["label"] for m in members)
        major = counts.most_common(1)[0][0]
        to_test = in_test[major] + counts[major] <= target[major] + counts[major] // 2
        for m in members:
            m["split"] = "test" if to_test else "train"
        if to_test:
            in_test.update(counts)
