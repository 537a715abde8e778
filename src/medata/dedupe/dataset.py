"""Deduplication of an existing dataset or manifest: plan (a dry run), apply (atomic rewrite),
and query new images against a manifest without rehashing it."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medata.dedupe.apply import apply_resolution, mark
from medata.dedupe.groups import Groups, byte_identical_summary, find_groups
from medata.dedupe.resolve import DedupePolicy, dedupe_meta, resolve
from medata.dedupe.search import hex_to_u64
from medata.errors import InputError, UsageError
from medata.guard import Refused, check_regular, read_file, read_inside, resolve_inside
from medata.inputs import Reader, list_entries, open_input
from medata.manifest import (
    MANIFEST_FILE,
    Target,
    annotations_frame,
    write_manifest,
)
from medata.output import ANNOTATIONS_FILE, staged_output, within, write_csv
from medata.probe import probe_bytes
from medata.progress import Progress
from medata.records import CLASSES, SPLITS, Status


@dataclass
class Plan:
    groups: Groups
    manifest: pd.DataFrame  # the manifest as it would be after resolution
    changes: pd.DataFrame  # one row per changed row: path, old status, new status, detail


def plan(
    target: Target,
    policy: DedupePolicy,
    progress: Progress | None = None,
    scheduler: str | None = None,
) -> Plan:
    """The dataset as ``policy`` would leave it (a dry run). ``scheduler``: search the views
    and verify the near candidates on that Dask cluster (see ``medata.cluster``) instead of a
    local process pool."""
    from medata.cluster import maybe_client
    from medata.dedupe.verify import pair_pool

    m = target.manifest
    with maybe_client(scheduler) as client, pair_pool(client) as pool:
        groups = find_groups(m, policy.threshold, progress=progress, pool=pool)
    marked = mark(m, groups)
    decisions, moves = resolve(marked, groups, policy)
    after = apply_resolution(marked, decisions, moves)
    changed = (m["status"] != after["status"]) | (m["split"] != after["split"])
    changes = pd.DataFrame({
        "old_path": m.loc[changed, "path"], "new_path": after.loc[changed, "path"],
        "old_status": m.loc[changed, "status"], "status": after.loc[changed, "status"],
        "detail": after.loc[changed, "detail"],
    })  # fmt: skip
    return Plan(groups, after, changes)


def summary(target: Target, p: Plan) -> dict[str, Any]:
    t = p.groups.table
    return {
        "rows": len(target.manifest),
        "pairs": p.groups.pairs,
        "byte_identical": byte_identical_summary(target.manifest),
        "groups": {
            "total": len(t),
            "files": int(t["size"].sum()) if len(t) else 0,
            "exact": int((t["kind"] == "exact").sum()),
            "near": int((t["kind"] == "near").sum()),
            "cross_split": int(t["cross_split"].sum()),
            "label_conflict": int(t["label_conflict"].sum()),
            "cross_source": int(t["cross_source"].sum()),
        },
        "changes": {str(k): int(v) for k, v in p.changes["status"].value_counts().items()},
    }


def apply(target: Target, p: Plan, policy: DedupePolicy) -> list[str]:
    """Rewrite the dataset with the plan (see ``rewrite``); returns the carried-over paths."""
    return rewrite(target, p.manifest, {"medata.dedupe": dedupe_meta(policy)})


def rewrite(target: Target, after: pd.DataFrame, meta: dict[str, str]) -> list[str]:
    """Rewrite the dataset as the manifest ``after`` says: removed files go, moved files move,
    tables are rewritten (with ``meta`` added to the manifest's). Built in a staging folder from
    hard links, then swapped in atomically.

    Only files medata wrote (the manifest's kept paths and its two tables) are ever removed or
    moved; anything else in the folder (notes, images added by hand) is carried over unchanged.
    Returns those carried-over paths."""
    if target.root is None:
        raise UsageError("rewriting needs a dataset folder, not a manifest file")
    root = target.root
    ours = {MANIFEST_FILE, ANNOTATIONS_FILE}
    ours.update(str(x) for x in target.manifest["path"].dropna())
    foreign = [rel for rel in _all_files(root) if rel not in ours]
    with staged_output(root, replace=True) as staging:
        kept = after[after["status"] == Status.KEPT.value]
        old_paths = target.manifest["path"]
        for i, new in zip(kept.index, kept["path"], strict=True):
            _carry(root, old_paths[i], within(staging, new))
        for rel in foreign:
            _carry(root, rel, within(staging, rel))
        for split in SPLITS:  # all six class folders in both splits, even an emptied one
            for cls in CLASSES:
                (staging / split / cls).mkdir(parents=True, exist_ok=True)
        fixed = ("medata.version", "medata.schema_version", "medata.hash_recipe")
        extra = {k: v for k, v in target.meta.items() if k not in fixed}
        extra.update(meta)
        write_manifest(after, staging / MANIFEST_FILE, extra)
        write_csv(annotations_frame(after), staging / ANNOTATIONS_FILE)
    return foreign


def _all_files(root: Path) -> list[str]:
    """Every non-folder entry under ``root`` (links not followed), as sorted POSIX paths."""
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        base = Path(dirpath).relative_to(root)
        out.extend((base / f).as_posix() for f in files)
    return sorted(out)


def _carry(root: Path, rel: str, dest: Path) -> None:
    """Hard-link (or copy) ``root/rel`` to ``dest``; a link is recreated as a link."""
    src = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        dest.symlink_to(os.readlink(src))
        return
    resolve_inside(root, rel)  # never outside the dataset
    try:
        os.link(src, dest)
    except OSError:
        check_regular(src)  # never copy from a FIFO or device
        shutil.copy2(src, dest)


def query(images: list[Path], manifest: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """For each image: rows of the manifest with the same bytes or a pHash within threshold."""
    rows = manifest[manifest["phash"].notna()]
    hashes = hex_to_u64(rows["phash"].tolist())
    out: list[dict[str, object]] = []
    for image in images:
        try:
            data = read_file(image)
        except Refused as exc:
            raise InputError(f"cannot read {image}: {exc.detail}") from None
        r = probe_bytes(str(image), data)
        if r.phash is None:
            out.append({"query": str(image), "match": None, "distance": None, "status": None,
                        "detail": f"not an image: {r.detail}"})  # fmt: skip
            continue
        d = np.bitwise_count(hashes ^ np.uint64(int(r.phash, 16))).astype(int)
        same = (rows["sha256"] == r.sha256).to_numpy()
        hits = np.flatnonzero((d <= threshold) | same)
        hits = hits[np.lexsort((hits, d[hits]))]
        if len(hits) == 0:
            out.append({"query": str(image), "match": None, "distance": None, "status": None,
                        "detail": "no match"})  # fmt: skip
        for k in hits:
            row = rows.iloc[k]
            where = (
                row["path"]
                if isinstance(row["path"], str)
                else f"{row['input']}:{row['source_path']}"
            )
            out.append(
                {
                    "query": str(image),
                    "match": where,
                    "distance": int(d[k]),
                    "status": row["status"],
                    "detail": "same bytes" if same[k] else f"pHash distance {int(d[k])}",
                }
            )
    return pd.DataFrame(out, columns=["query", "match", "distance", "status", "detail"])


def image_loader(root: Path | None, inputs: list[Path]) -> Callable[[pd.Series], bytes | None]:
    """Bytes of a manifest row: from the dataset folder, else from its original input."""
    refs = {}
    for path in inputs:
        ref = open_input(path)
        refs[ref.name] = (ref, {e.path: e.key for e in list_entries(ref) if e.problem is None})

    def load(row: pd.Series) -> bytes | None:
        if root is not None and isinstance(row["path"], str):
            try:
                return read_inside(root, row["path"])
            except Refused:
                pass
        found = refs.get(row["input"])
        if found is not None and row["source_path"] in found[1]:
            try:
                with Reader(found[0]) as reader:
                    return reader.read(found[1][row["source_path"]])
            except (Refused, OSError, zipfile.BadZipFile):
                return None
        return None

    return load
