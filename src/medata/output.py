"""Writing a dataset folder atomically: lock, stage beside DIR, rename into place.

A crash or kill at any moment leaves DIR absent or the previous complete dataset; the next run
cleans up what a killed run left behind. Nothing is written outside DIR except the staging folder
and lock file beside it, both removed at the end.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import posixpath
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from medata.errors import OutputError
from medata.inputs import Reader
from medata.records import Reason, Status

MANIFEST_FILE = "manifest.parquet"
ANNOTATIONS_FILE = "annotations.csv"


def _sidecar(out: Path, what: str) -> Path:
    return out.parent / f".{out.name}.medata-{what}"


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    path = _sidecar(out, "lock")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"another medata run is writing {out}; try again when it ends"
            ) from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)


def _recover(out: Path) -> None:
    """Undo what a killed run left: restore a replaced DIR, remove stale staging folders."""
    for leftover in sorted(out.parent.glob(f".{out.name}.medata-old-*")):
        if not out.exists():
            leftover.rename(out)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in out.parent.glob(f".{out.name}.medata-staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def staged_output(out: Path, replace: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it becomes ``out``, on any failure it is removed."""
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out.parent}: {exc.strerror}") from exc
    with _lock(out):
        _recover(out)
        if out.exists() and any(out.iterdir()) and not replace:
            raise OutputError(f"output folder {out} is not empty (use --replace to replace it)")
        staging = _sidecar(out, f"staging-{os.getpid()}")
        staging.mkdir()
        try:
            yield staging
            _commit(staging, out)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno == errno.ENOSPC:
                raise OutputError(f"disk full while writing {out}; nothing was written") from exc
            raise OutputError(f"cannot write {out}: {exc}; nothing was written") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _commit(staging: Path, out: Path) -> None:
    old = _sidecar(out, f"old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def within(root: Path, rel: str) -> Path:
    """``root / rel`` for a relative POSIX path; refuses anything that would leave ``root``."""
    norm = posixpath.normpath(rel)
    if norm.startswith(("../", "/")) or norm in ("..", "."):
        raise ValueError(f"refusing to write outside the output folder: {rel}")
    return root / norm


def copy_files(
    staging: Path, kept: list[dict[str, Any]], link: str, advance: Callable[[int], None]
) -> None:
    """Put each kept row's file at ``staging/row['path']``; verify copied bytes by sha256."""
    by_input: dict[str, list[dict[str, Any]]] = {}
    for row in kept:
        by_input.setdefault(row["_ref"].location, []).append(row)
    for rows in by_input.values():
        ref = rows[0]["_ref"]
        with Reader(ref) as reader:
            for row in rows:
                dest = within(staging, row["path"])
                dest.parent.mkdir(parents=True, exist_ok=True)
                if link != "copy" and ref.kind == "dir":
                    _link(Path(row["_key"]), dest, link)
                elif _copy_verified(reader, row, dest) and row.get("_mtime_ns") is not None:
                    # The source's mtime (like cp -p): reruns give the same manifest.
                    os.utime(dest, ns=(row["_mtime_ns"], row["_mtime_ns"]))
                if row["path"] is not None:
                    row["mtime_ns"] = os.stat(dest).st_mtime_ns
                advance(1)


def _copy_verified(reader: Reader, row: dict[str, Any], dest: Path) -> bool:
    """Write the row's bytes to ``dest``; False (and the row rejected) if they changed."""
    data = reader.read(row["_key"])
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        row.update(
            status=Status.REJECTED.value,
            reason=Reason.CHANGED_DURING_MERGE.value,
            detail="file changed between probe and copy",
            path=None,
        )
        return False
    dest.write_bytes(data)
    return True


def _link(src: Path, dest: Path, link: str) -> None:
    if link == "hardlink":
        os.link(src, dest)
    else:
        dest.symlink_to(src.resolve())


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells that a spreadsheet would run as a formula (=, +, -, @)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            text = out[col]
            risky = text.notna() & text.astype(str).str.startswith(FORMULA_START)
            if risky.any():
                out[col] = text.astype(object)
                out.loc[risky, col] = "'" + text[risky].astype(str)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV as medata writes it everywhere: UTF-8, LF, formula-like cells neutralised."""
    neutralise(df).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
