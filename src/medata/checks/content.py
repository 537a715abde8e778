"""The files' content: decodes fully, extension matches the format, bytes match the manifest and
annotations.csv, and exact duplicates across splits or labels (by sha256)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from medata.checks.findings import Findings
from medata.cluster import maybe_client
from medata.guard import MAX_FILE_BYTES
from medata.inputs import FORMAT_EXTENSIONS as EXTENSIONS
from medata.inputs import InputRef
from medata.probe import is_not_image, probe_many
from medata.problems import Code

# Probe problems validate reports under their own code; any other decode failure is undecodable.
_AS_IS = frozenset({Code.EMPTY_FILE, Code.TRUNCATED, Code.TOO_LARGE, Code.UNREADABLE})


class Recorded(NamedTuple):
    """What the manifest recorded for one kept file."""

    bytes: int | None
    mtime_ns: int | None
    sha256: str | None
    format: str | None


Manifest = dict[str, Recorded]


@dataclass(frozen=True)
class FileFacts:
    sha256: str | None
    format: str | None
    decoded: bool  # False when taken from the manifest (size and mtime unchanged)


def load_manifest(root: Path, findings: Findings) -> Manifest | None:
    from medata.errors import InputError
    from medata.manifest import read_manifest

    path = root / "manifest.parquet"
    if not path.exists():
        return None
    try:
        df, _ = read_manifest(path)
    except InputError as exc:
        findings.add(Code.MANIFEST_UNREADABLE, "manifest.parquet", str(exc))
        return None
    kept = df[df["path"].notna()].drop_duplicates("path")
    columns = [kept[c].astype(object).where(kept[c].notna(), None).tolist()
               for c in ("path", "bytes", "mtime_ns", "sha256", "format")]  # fmt: skip
    return {path: Recorded(*rest) for path, *rest in zip(*columns, strict=True)}


def inspect_files(
    root: Path,
    files: list[str],
    manifest: Manifest | None,
    deep: bool,
    findings: Findings,
    workers: int | None = None,
    advance: Callable[[int], None] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    scheduler: str | None = None,
) -> dict[str, FileFacts]:
    """sha256 and format of each file: decoded fully, unless the manifest vouches for it (on
    the Dask cluster ``scheduler`` names, else the process pool)."""
    facts: dict[str, FileFacts] = {}
    todo: list[str] = []
    for rel in files:
        cached = _from_manifest(root, rel, manifest) if not deep else None
        if cached is not None:
            facts[rel] = cached
        else:
            todo.append(rel)
    if advance is not None and len(files) > len(todo):
        advance(len(files) - len(todo))
    ref = InputRef("dir", str(root.resolve()), max_file_bytes)
    keys = [str(Path(ref.location) / rel) for rel in todo]
    n_workers = workers if workers is not None else (1 if len(keys) < 256 else None)
    with maybe_client(scheduler if keys else None, workers) as client:
        results = probe_many([(ref, keys)], workers=n_workers, on_progress=advance, client=client)
    for rel, key in zip(todo, keys, strict=True):
        r = results[(ref.location, key)]
        facts[rel] = FileFacts(r.sha256 or None, r.format, True)
        if r.problem is None:
            _check_extension(rel, r.format, findings)
        elif is_not_image(r):
            findings.add(Code.NOT_IMAGE, rel, "not an image file")
        else:
            findings.add(r.problem if r.problem in _AS_IS else Code.UNDECODABLE, rel, r.detail)
    return facts


def _from_manifest(root: Path, rel: str, manifest: Manifest | None) -> FileFacts | None:
    recorded = manifest.get(rel) if manifest is not None else None
    if recorded is None or recorded.mtime_ns is None:
        return None
    try:
        st = os.stat(os.path.join(root, rel))
    except OSError:
        return None
    if st.st_size != recorded.bytes or st.st_mtime_ns != recorded.mtime_ns:
        return None
    return FileFacts(recorded.sha256, recorded.format, False)


def _check_extension(rel: str, fmt: str | None, findings: Findings) -> None:
    ext = posixpath.splitext(rel)[1].lower()
    if fmt and fmt in EXTENSIONS and ext not in EXTENSIONS[fmt]:
        findings.add(Code.EXTENSION_MISMATCH, rel, f"extension {ext!r} but the file is {fmt}",
                     expected=" ".join(sorted(EXTENSIONS[fmt])), actual=ext)  # fmt: skip


def check_hashes(
    df: pd.DataFrame, rows: dict[str, int], facts: dict[str, FileFacts],
    manifest: Manifest | None, findings: Findings,
) -> None:  # fmt: skip
    """sha256 against annotations.csv and the manifest; rows the manifest does not know."""
    listed = _column(df, "sha256")
    for rel, index in rows.items():
        actual = facts[rel].sha256 if rel in facts else None
        recorded = manifest.get(rel) if manifest is not None else None
        if manifest is not None and recorded is None:
            findings.add(Code.NOT_IN_MANIFEST, rel, "row has no kept entry in manifest.parquet")
        if actual is None:
            continue
        expected = [("annotations.csv", listed.get(index)),
                    ("manifest.parquet", recorded.sha256 if recorded else None)]  # fmt: skip
        for where, sha in expected:
            if isinstance(sha, str) and sha != actual:
                findings.add(
                    Code.SHA256_CHANGED,
                    rel,
                    f"content changed: sha256 {actual[:12]}… but {where} says {sha[:12]}…",
                    expected=sha,
                    actual=actual,
                )
                break


def _column(df: pd.DataFrame, name: str) -> dict[int, object]:
    """Row index -> value (None for NA), as a plain dict: fast to look up row by row."""
    if name not in df.columns:
        return {}
    values = df[name].astype(object).where(df[name].notna(), None)
    return dict(zip(df.index.tolist(), values.tolist(), strict=True))


def check_exact_duplicates(
    df: pd.DataFrame, rows: dict[str, int], facts: dict[str, FileFacts], findings: Findings
) -> None:
    """Same bytes in train and test (leak), under two labels (conflict), or twice (duplicate)."""
    labels = _column(df, "label")
    groups: dict[str, list[tuple[str, object, str]]] = {}
    for rel in sorted(rows):
        sha = facts[rel].sha256 if rel in facts else None
        if sha:
            groups.setdefault(sha, []).append((rel, labels.get(rows[rel]), rel.split("/")[0]))
    for members in groups.values():
        if len(members) < 2:
            continue
        first_path, first_label, _ = members[0]
        splits = {split for _, _, split in members}
        if len(splits) > 1:
            anchor = next(path for path, _, split in members if split == "train")
            for path, _, split in members:
                if split != "train":
                    findings.add(Code.EXACT_LEAK, path, f"same bytes as {anchor}")
        if len({label for _, label, _ in members}) > 1:
            for path, label, _ in members[1:]:
                if label != first_label:
                    findings.add(
                        Code.LABEL_CONFLICT,
                        path,
                        f"same bytes as {first_path} labelled {first_label}",
                    )
        elif len(splits) == 1:
            for path, _, _ in members[1:]:
                findings.add(Code.EXACT_DUPLICATE, path, f"same bytes as {first_path}")
