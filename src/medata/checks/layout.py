"""The folders: class folder set, debris, names, and rows against the files that are there.

Paths that leave the dataset (``../``, absolute, a link pointing outside) are reported and never
opened.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from medata.checks.findings import Code, Findings
from medata.inputs import is_debris
from medata.records import CLASSES, SPLITS

SPLIT_WORD = re.compile(r"(?<![a-z])(?:train|training|test|testing|val|valid|validation)(?![a-z])")


@dataclass
class Tree:
    """What is under ``train/`` and ``test/``: safe image files and where links lead."""

    files: set[str] = field(default_factory=set)  # relative POSIX paths, safe to open
    escaping: set[str] = field(default_factory=set)  # links that point outside the dataset


def inside(root: Path, path: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
    except ValueError:
        return False
    return True


def scan_tree(root: Path, findings: Findings, follow_links: bool) -> Tree:
    tree = Tree()
    for split in SPLITS:
        top = root / split
        if not top.is_dir():
            findings.add(
                Code.MISSING_CLASS_FOLDER, split + "/", f"split folder {split}/ is missing"
            )
            continue
        _check_class_folders(top, split, findings)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            here = Path(dirpath)
            for d in dirnames:
                if (here / d).is_symlink():
                    rel = (here / d).relative_to(root).as_posix()
                    findings.add(Code.PATH_ESCAPES if not inside(root, here / d) else Code.DEBRIS,
                                 rel + "/", "symbolic link to a folder; not followed")  # fmt: skip
            for name in filenames:
                _scan_file(root, here / name, tree, findings, follow_links)
    for path in sorted(p for p in root.iterdir() if p.is_file() and is_debris(p.name)):
        findings.add(Code.DEBRIS, path.name, "system or hidden file")
    return tree


def _check_class_folders(top: Path, split: str, findings: Findings) -> None:
    folders = {p.name for p in top.iterdir() if p.is_dir() and not is_debris(p.name)}
    for name in sorted(folders - set(CLASSES)):
        findings.add(Code.UNKNOWN_CLASS_FOLDER, f"{split}/{name}/",
                     f"not one of the six classes ({', '.join(CLASSES)})")  # fmt: skip
    for name in sorted(set(CLASSES) - folders):
        findings.add(Code.MISSING_CLASS_FOLDER, f"{split}/{name}/", "class folder is missing")
    for name in sorted(folders & set(CLASSES)):
        if not any(not is_debris(p.name) for p in (top / name).iterdir()):
            findings.add(Code.EMPTY_CLASS_FOLDER, f"{split}/{name}/", "class folder has no images")


def _scan_file(root: Path, full: Path, tree: Tree, findings: Findings, follow: bool) -> None:
    rel = full.relative_to(root).as_posix()
    if is_debris(rel):
        findings.add(Code.DEBRIS, rel, "system or hidden file")
        return
    if full.is_symlink() and not follow and not inside(root, full):
        tree.escaping.add(rel)
        return
    stem = posixpath.splitext(full.name)[0].lower()
    if SPLIT_WORD.search(stem):
        findings.add(Code.SPLIT_WORD_IN_NAME, rel,
                     "file name contains a split word, which misleads some loaders")  # fmt: skip
    tree.files.add(rel)


def unsafe_reason(rel: str) -> str | None:
    if rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        return "absolute path"
    if ".." in rel.replace("\\", "/").split("/"):
        return "path climbs out with '..'"
    return None


def check_rows(df: pd.DataFrame, root: Path, tree: Tree, findings: Findings) -> dict[str, int]:
    """Rows against files. Returns safe, existing row paths -> row index."""
    rows: dict[str, int] = {}
    for index, rel, label, split in zip(df.index, df["file_name"], df.get("label"), df.get("split"),
                                        strict=True):  # fmt: skip
        if not isinstance(rel, str):
            continue
        why = unsafe_reason(rel)
        if why is not None:
            findings.add(Code.PATH_ESCAPES, rel, f"{why}; not opened")
            continue
        norm = posixpath.normpath(rel)
        if norm in tree.escaping or (
            (root / norm).is_symlink() and not inside(root, root / norm) and norm not in tree.files
        ):
            findings.add(
                Code.PATH_ESCAPES, rel, "a link that points outside the dataset; not opened"
            )
            continue
        if norm not in tree.files:
            if (root / norm).is_file() and inside(root, root / norm):
                findings.add(Code.SPLIT_MISMATCH, rel, "file lies outside train/ and test/")
            else:
                findings.add(Code.FILE_MISSING, rel, "listed in annotations.csv but not on disk")
            continue
        parts = norm.split("/")
        if isinstance(label, str) and (len(parts) < 3 or parts[1] != label):
            folder = parts[1] if len(parts) >= 3 else "(none)"
            findings.add(Code.LABEL_MISMATCH, rel, f"row says {label!r}, folder says {folder!r}")
        if isinstance(split, str) and parts[0] != split:
            findings.add(Code.SPLIT_MISMATCH, rel, f"row says {split!r}, folder says {parts[0]!r}")
        rows.setdefault(norm, int(index))
    for rel in sorted(tree.escaping - set(map(posixpath.normpath, df["file_name"].dropna()))):
        findings.add(Code.PATH_ESCAPES, rel, "a link that points outside the dataset; not opened")
    for rel in sorted(tree.files - rows.keys() - _listed(df)):
        findings.add(Code.ORPHAN_FILE, rel, "file has no row in annotations.csv")
    return rows


def _listed(df: pd.DataFrame) -> set[str]:
    return {posixpath.normpath(p) for p in df["file_name"].dropna() if unsafe_reason(p) is None}
