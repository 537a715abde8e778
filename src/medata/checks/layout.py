"""The folders: class folder set, debris, names, and rows against the files that are there.

Paths that leave the dataset (``../``, absolute, a link pointing outside) are reported and never
opened.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from medata.checks.findings import Findings
from medata.guard import inside, unsafe_reason
from medata.inputs import is_debris
from medata.labels import SPLIT_WORD_IN_NAME
from medata.problems import Code
from medata.records import CLASSES, SPLITS


@dataclass
class Tree:
    """What is under ``train/`` and ``test/``: safe image files and where links lead."""

    files: set[str] = field(default_factory=set)  # relative POSIX paths, safe to open
    escaping: set[str] = field(default_factory=set)  # links that point outside the dataset


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
        _walk(root, split, tree, findings, follow_links)
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


def _walk(root: Path, rel_dir: str, tree: Tree, findings: Findings, follow: bool) -> None:
    """Depth-first with scandir: the link test comes free with the directory listing."""
    try:
        entries = sorted(os.scandir(os.path.join(root, rel_dir)), key=lambda e: e.name)
    except OSError as exc:
        findings.add(Code.UNREADABLE, rel_dir + "/", f"cannot list folder: {exc.strerror}")
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            _walk(root, rel, tree, findings, follow)
        elif entry.is_symlink() and os.path.isdir(entry.path):
            outside = not inside(root, Path(entry.path))
            findings.add(Code.PATH_ESCAPES if outside else Code.DEBRIS, rel + "/",
                         "symbolic link to a folder; not followed")  # fmt: skip
        else:
            _scan_file(root, rel, entry.is_symlink(), tree, findings, follow)


def _scan_file(
    root: Path, rel: str, is_link: bool, tree: Tree, findings: Findings, follow: bool
) -> None:
    if is_debris(rel):
        findings.add(Code.DEBRIS, rel, "system or hidden file")
        return
    if is_link and not follow and not inside(root, Path(root, rel)):
        tree.escaping.add(rel)
        return
    stem = posixpath.splitext(posixpath.basename(rel))[0].lower()
    if SPLIT_WORD_IN_NAME.search(stem):
        findings.add(Code.SPLIT_WORD_IN_NAME, rel,
                     "file name contains a split word, which misleads some loaders")  # fmt: skip
    tree.files.add(rel)


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that also answers False for a name too long for the file system."""
    try:
        return path.is_file()
    except OSError:
        return False


def check_rows(df: pd.DataFrame, root: Path, tree: Tree, findings: Findings) -> dict[str, int]:
    """Rows against files. Returns safe, existing row paths -> row index."""
    rows: dict[str, int] = {}
    listed: set[str] = set()
    n = len(df)
    columns = [df[c].astype(object).where(df[c].notna(), None).tolist() if c in df.columns
               else [None] * n for c in ("file_name", "label", "split")]  # fmt: skip
    for index, rel, label, split in zip(df.index.tolist(), *columns, strict=True):
        if not isinstance(rel, str):
            continue
        why = unsafe_reason(rel)
        if why is not None:
            findings.add(Code.PATH_ESCAPES, rel, f"{why}; not opened")
            continue
        norm = posixpath.normpath(rel)
        listed.add(norm)
        if norm in tree.escaping or (
            norm not in tree.files and os.path.islink(root / norm) and not inside(root, root / norm)
        ):
            findings.add(
                Code.PATH_ESCAPES, rel, "a link that points outside the dataset; not opened"
            )
            continue
        if norm not in tree.files:
            if _is_file(root / norm) and inside(root, root / norm):
                findings.add(Code.SPLIT_MISMATCH, rel, "file lies outside train/ and test/")
            else:
                findings.add(Code.FILE_MISSING, rel, "listed in annotations.csv but not on disk")
            continue
        parts = norm.split("/")
        if isinstance(label, str) and (len(parts) < 3 or parts[1] != label):
            folder = parts[1] if len(parts) >= 3 else "(none)"
            findings.add(Code.LABEL_MISMATCH, rel, f"row says {label!r}, folder says {folder!r}",
                         line=int(index) + 2, expected=label, actual=folder)  # fmt: skip
        if isinstance(split, str) and parts[0] != split:
            findings.add(Code.SPLIT_MISMATCH, rel, f"row says {split!r}, folder says {parts[0]!r}",
                         line=int(index) + 2, expected=split, actual=parts[0])  # fmt: skip
        rows.setdefault(norm, int(index))
    for rel in sorted(tree.escaping - listed):
        findings.add(Code.PATH_ESCAPES, rel, "a link that points outside the dataset; not opened")
    for rel in sorted(tree.files - listed):
        findings.add(Code.ORPHAN_FILE, rel, "file has no row in annotations.csv")
    return rows
