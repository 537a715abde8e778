"""The files' content: decodes fully, extension matches the format, bytes match the manifest and
annotations.csv, and exact duplicates across splits or labels (by sha256)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medata.checks.findings import Code, Findings
from medata.inputs import InputRef
from medata.probe import probe_many
from medata.records import Reason

EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jfif", ".jpe"}, "MPO": {".jpg", ".jpeg"}, "PNG": {".png"},
    "GIF": {".gif"}, "BMP": {".bmp"}, "WEBP": {".webp"}, "TIFF": {".tif", ".tiff"},
    "PPM": {".ppm", ".pgm", ".pbm", ".pnm"},
}  # fmt: skip
_CODES = {Reason.EMPTY_FILE: Code.EMPTY_FILE, Reason.TRUNCATED: Code.TRUNCATED,
          Reason.TOO_LARGE: Code.TOO_LARGE, Reason.UNREADABLE: Code.UNREADABLE}  # fmt: skip


@dataclass(frozen=True)
class FileFacts:
    sha256: str | None
    format: str | None
    decoded: bool  # False when taken from the manifest (size and mtime unchanged)


def load_manifest(root: Path, findings: Findings) -> pd.DataFrame | None:
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
    kept = df[df["path"].notna()]
    return kept.drop_duplicates("path").set_index("path")


def inspect_files(
    root: Path,
    files: list[str],
    manifest: pd.DataFrame | None,
    deep: bool,
    findings: Findings,
    workers: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[str, FileFacts]:
    """sha256 and format of each file: decoded fully, unless the manifest vouches for it."""
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
    ref = InputRef("dir", str(root.resolve()))
    keys = [str(Path(ref.location) / rel) for rel in todo]
    n_workers = workers if workers is not None else (1 if len(keys) < 256 else None)
    results = probe_many([(ref, keys)], workers=n_workers, on_progress=advance)
    for rel, key in zip(todo, keys, strict=True):
        r = results[(ref.location, key)]
        facts[rel] = FileFacts(r.sha256 or None, r.format, True)
        if r.problem is None:
            _check_extension(rel, r.format, findings)
        elif r.problem is Reason.UNDECODABLE and r.detail.startswith("UnidentifiedImageError"):
            findings.add(Code.NOT_IMAGE, rel, "not an image file")
        else:
            findings.add(_CODES.get(r.problem, Code.UNDECODABLE), rel, r.detail)
    return facts


def _from_manifest(root: Path, rel: str, manifest: pd.DataFrame | None) -> FileFacts | None:
    if manifest is None or rel not in manifest.index:
        return None
    row = manifest.loc[rel]
    try:
        st = os.stat(root / rel)
    except OSError:
        return None
    if pd.isna(row["mtime_ns"]) or st.st_size != row["bytes"] or st.st_mtime_ns != row["mtime_ns"]:
        return None
    return FileFacts(str(row["sha256"]), str(row["format"]), False)


def _check_extension(rel: str, fmt: str | None, findings: Findings) -> None:
    ext = posixpath.splitext(rel)[1].lower()
    if fmt and fmt in EXTENSIONS and ext not in EXTENSIONS[fmt]:
        findings.add(Code.EXTENSION_MISMATCH, rel, f"extension {ext!r} but the file is {fmt}")


def check_hashes(
    df: pd.DataFrame, rows: dict[str, int], facts: dict[str, FileFacts],
    manifest: pd.DataFrame | None, findings: Findings,
) -> None:  # fmt: skip
    """sha256 against annotations.csv and the manifest; rows the manifest does not know."""
    listed = df["sha256"] if "sha256" in df.columns else None
    for rel, index in rows.items():
        actual = facts[rel].sha256 if rel in facts else None
        if manifest is not None and rel not in manifest.index:
            findings.add(Code.NOT_IN_MANIFEST, rel, "row has no kept entry in manifest.parquet")
        if actual is None:
            continue
        expected = []
        if listed is not None and isinstance(listed[index], str):
            expected.append(("annotations.csv", listed[index]))
        if manifest is not None and rel in manifest.index:
            expected.append(("manifest.parquet", str(manifest.at[rel, "sha256"])))
        for where, sha in expected:
            if sha != actual:
                findings.add(
                    Code.SHA256_CHANGED,
                    rel,
                    f"content changed: sha256 {actual[:12]}… but {where} says {sha[:12]}…",
                )
                break


def check_exact_duplicates(
    df: pd.DataFrame, rows: dict[str, int], facts: dict[str, FileFacts], findings: Findings
) -> None:
    """Same bytes in train and test (leak), under two labels (conflict), or twice (duplicate)."""
    table = pd.DataFrame(
        [(rel, facts[rel].sha256, df.at[i, "label"] if "label" in df.columns else None,
          rel.split("/")[0]) for rel, i in rows.items() if rel in facts and facts[rel].sha256],
        columns=["path", "sha256", "label", "split"],
    )  # fmt: skip
    for _, group in table.sort_values("path").groupby("sha256", sort=True):
        if len(group) < 2:
            continue
        first = group.iloc[0]
        if group["split"].nunique() > 1:
            anchor = group[group["split"] == "train"].iloc[0]
            for member in group[group["split"] != "train"].itertuples():
                findings.add(Code.EXACT_LEAK, member.path, f"same bytes as {anchor['path']}")
        if group["label"].nunique() > 1:
            for member in group.iloc[1:].itertuples():
                if member.label != first["label"]:
                    findings.add(
                        Code.LABEL_CONFLICT,
                        member.path,
                        f"same bytes as {first['path']} labelled {first['label']}",
                    )
        if group["split"].nunique() == 1 and group["label"].nunique() == 1:
            for member in group.iloc[1:].itertuples():
                findings.add(Code.EXACT_DUPLICATE, member.path, f"same bytes as {first['path']}")
