"""Writing a dataset folder atomically: lock, stage beside DIR, rename into place.

A crash or kill at any moment leaves DIR absent or the previous complete dataset; the next run
cleans up what a killed run left behind. Nothing is written outside DIR except the staging folder
and lock file beside it, both removed at the end.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import posixpath
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medata.errors import OutputError
from medata.inputs import InputRef, Reader
from medata.records import CLASSES, SPLITS

ANNOTATIONS_FILE = "annotations.csv"


def _sidecar(out: Path, what: str) -> Path:
    return out.parent / f".{out.name}.medata-{what}"


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """One writer per DIR (``filelock``: flock on POSIX, LockFileEx on Windows); never waits."""
    from filelock import FileLock, Timeout

    path = _sidecar(out, "lock")
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(f"another medata run is writing {out}; try again when it ends") from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held, so that no other run can be holding it
        lock.release()


def _leftovers(out: Path, what: str) -> list[Path]:
    """Sidecars of ``out`` named ``.<name>.medata-<what>-<pid>``, by exact prefix: a user's name
    is never used as a glob pattern (``exp[1]`` would match ``exp1``'s files)."""
    prefix = f".{out.name}.medata-{what}-"
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    return [out.parent / n for n in sorted(names)
            if n.startswith(prefix) and n[len(prefix):].isdigit()]  # fmt: skip


def _recover(out: Path) -> None:
    """Undo what a killed run left: restore a replaced DIR, remove stale staging folders."""
    for leftover in _leftovers(out, "old"):
        if not out.exists():
            leftover.rename(out)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in _leftovers(out, "staging"):
        shutil.rmtree(leftover, ignore_errors=True)


def check_output(out: Path, replace: bool) -> None:
    """Refuse an output that cannot be written, before any work: a file, or a non-empty folder
    without ``replace``. ``staged_output`` checks again under the lock."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir() and not replace and any(out.iterdir()):
        raise OutputError(f"output folder {out} is not empty (use --replace to replace it)")


@contextlib.contextmanager
def staged_output(out: Path, replace: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it becomes ``out``, on any failure it is removed."""
    out = out.absolute()
    check_output(out, replace)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out.parent}: {exc.strerror}") from exc
    with _lock(out):
        _recover(out)
        check_output(out, replace)  # again, now that no other run can be writing
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


@dataclass(frozen=True)
class CopyItem:
    """One file to copy: where it is (input, key), what its bytes must hash to, where it goes
    (relative to the staging folder) and the source's mtime to give it."""

    ref: InputRef
    key: str
    sha256: str
    dest: str
    mtime_ns: int | None = None


def copy_files(
    staging: Path, items: list[CopyItem], link: str, advance: Callable[[int], None]
) -> list[int | None]:
    """Put each item's file at ``staging/item.dest``, its bytes verified by sha256. Returns per
    item the written file's mtime (ns), or None when the bytes changed since the probe (then
    nothing is written for it)."""
    by_input: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        by_input.setdefault(item.ref.location, []).append(k)
    out: list[int | None] = [None] * len(items)
    made: set[Path] = set()
    for positions in by_input.values():
        ref = items[positions[0]].ref
        with Reader(ref) as reader:
            for k in positions:
                item = items[k]
                dest = within(staging, item.dest)
                _make_parent(dest, made)
                if link != "copy" and ref.kind == "dir" and not ref.remote:
                    _link(Path(item.key), dest, link)
                elif not _copy_verified(reader, item, dest):
                    advance(1)
                    continue
                elif item.mtime_ns is not None:
                    # The source's mtime (like cp -p): reruns give the same manifest.
                    os.utime(dest, ns=(item.mtime_ns, item.mtime_ns))
                out[k] = os.stat(dest).st_mtime_ns
                advance(1)
    return out


def place_files(staging: Path, moves: list[tuple[Path, str]]) -> None:
    """Rename verified copies to their final relative paths, and make every class folder in
    both splits (an empty one too: ImageFolder numbers classes by the folders it finds)."""
    for split in SPLITS:
        for cls in CLASSES:
            (staging / split / cls).mkdir(parents=True, exist_ok=True)
    made: set[Path] = set()
    for src, rel in moves:
        dest = within(staging, rel)
        _make_parent(dest, made)
        os.rename(src, dest)


def _make_parent(dest: Path, made: set[Path]) -> None:
    """``dest``'s folder, made once per folder (not a system call per file)."""
    if dest.parent not in made:
        dest.parent.mkdir(parents=True, exist_ok=True)
        made.add(dest.parent)


def _copy_verified(reader: Reader, item: CopyItem, dest: Path) -> bool:
    """Write the item's bytes to ``dest``; False (nothing written) if they changed."""
    data = reader.read(item.key)
    if hashlib.sha256(data).hexdigest() != item.sha256:
        return False
    dest.write_bytes(data)
    return True


def _link(src: Path, dest: Path, link: str) -> None:
    if link == "hardlink":
        os.link(src, dest)
    else:
        dest.symlink_to(src.resolve())


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_text(text: str) -> str:
    """``'`` before a cell a spreadsheet would run as a formula, and before a cell that already
    starts with ``'`` (so that reading back strips exactly the one medata added)."""
    return QUOTE + text if text.startswith((*FORMULA_START, QUOTE)) else text


def unneutralise_text(text: str) -> str:
    """The inverse of ``neutralise_text``: ``unneutralise_text(neutralise_text(x)) == x``."""
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_START, QUOTE)):
        return text[1:]
    return text


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """``neutralise_text`` applied to every text cell."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            text = out[col]
            risky = text.notna() & text.astype(str).str.startswith((*FORMULA_START, QUOTE))
            if risky.any():
                out[col] = text.astype(object)
                out.loc[risky, col] = QUOTE + text[risky].astype(str)
    return out


def unneutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Undo ``neutralise`` on a frame read back as strings."""
    for col in df.columns:
        text = df[col]
        quoted = text.notna() & text.astype(str).str.match(r"^'[=+\-@\t\r']")
        if quoted.any():
            df[col] = text.astype(object)
            df.loc[quoted, col] = text[quoted].astype(str).str.slice(1)
    return df


def _cell(value: object) -> str:
    """One CSV cell per RFC 4180: quoted when it holds a comma, a quote, CR or LF."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV as medata writes it everywhere: UTF-8, LF between rows, CR/LF inside a cell quoted
    (RFC 4180), formula-like cells neutralised. Every cell reads back exactly with ``read_csv``."""
    safe = neutralise(df).astype(object)
    lines = [",".join(_cell(c) for c in safe.columns)]
    lines.extend(",".join(_cell(v) for v in row) for row in safe.itertuples(index=False))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(lines) + "\n")


def read_csv(source: Path | io.StringIO) -> pd.DataFrame:
    """A CSV that medata wrote, as strings (empty cells as NA), neutralisation undone. A path is
    read through the guard (a regular file, size capped)."""
    if isinstance(source, Path):
        from medata.guard import MAX_TABLE_BYTES, read_file

        source = io.StringIO(read_file(source, MAX_TABLE_BYTES).decode("utf-8-sig"))
    df = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
    df.columns = [str(c).strip() for c in df.columns]
    return unneutralise(df)
