"""The one guard every reader shares: a path inside the dataset, a regular file, a bounded read.

Paths in annotations.csv, a manifest or on the command line are untrusted. Before a byte is read:
- the relative path must not climb out (``..``), be absolute, or carry a drive letter;
- after following links, it must still lie inside the dataset root;
- it must be a regular file: a FIFO, socket or device is refused *before* ``open`` (a FIFO opened
  for reading blocks forever), and the open itself is non-blocking with a second type check on the
  descriptor, so a file swapped for a FIFO in between cannot hang us either;
- at most ``limit`` bytes are read, counted as they arrive (a sparse 2 GiB file or a zip member
  whose declared size lies is refused without being held in memory).
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import IO

from medata.problems import Code

MAX_FILE_BYTES = 64 * 1024 * 1024  # per file or archive member; ``--max-file-mb`` raises it
MAX_TABLE_BYTES = 4 * 1024 * 1024 * 1024  # annotations.csv or a manifest: millions of rows
CHUNK = 1024 * 1024
# A member that inflates over this many times its compressed size while being read is a bomb.
BOMB_RATIO = 200


class Refused(Exception):
    """A file medata will not read; carries the stable reason code for the manifest or report."""

    def __init__(self, reason: Code, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def unsafe_reason(rel: str) -> str | None:
    """Why the relative path ``rel`` may not be joined to a root, or None when it may."""
    if not rel:
        return "empty path"
    if "\0" in rel:
        return "NUL byte in path"
    if rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":" and rel[0].isalpha()):
        return "absolute path"
    if ".." in rel.replace("\\", "/").split("/"):
        return "path climbs out with '..'"
    return None


def inside(root: Path, path: Path) -> bool:
    """True when ``path``, links followed, lies inside ``root`` (links followed too)."""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
    except (ValueError, OSError):
        return False
    return True


def resolve_inside(root: Path, rel: str) -> Path:
    """``root / rel`` when it stays inside ``root`` (links included); raises ``Refused``."""
    why = unsafe_reason(rel)
    if why is not None:
        raise Refused(Code.UNSAFE_PATH, f"{why}; not opened")
    path = root / posixpath.normpath(rel)
    if not inside(root, path):
        raise Refused(Code.LINK_OUTSIDE, "a link that points outside the dataset; not opened")
    return path


def file_type_problem(mode: int) -> str | None:
    """A description of a non-regular file type, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):  # fmt: skip
        if test(mode):
            return f"{name}, not a regular file; not opened"
    return "not a regular file; not opened"


def check_regular(path: Path | str) -> os.stat_result:
    """``path``'s stat when it (links followed) is a regular file; raises ``Refused`` otherwise."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Refused(Code.UNREADABLE, f"cannot stat: {exc.strerror}") from None
    problem = file_type_problem(st.st_mode)
    if problem is not None:
        raise Refused(Code.UNREADABLE, problem)
    return st


def read_file(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raises ``Refused`` otherwise."""
    st = check_regular(path)
    if st.st_size > limit:
        raise Refused(Code.TOO_LARGE, _over(st.st_size, limit))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Refused(Code.UNREADABLE, f"cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        problem = file_type_problem(os.fstat(fd).st_mode)  # swapped after the first check?
        if problem is not None:
            raise Refused(Code.UNREADABLE, problem)
        try:
            return read_capped(fh, limit)
        except OSError as exc:
            raise Refused(Code.UNREADABLE, f"cannot read: {exc.strerror}") from None


def read_inside(root: Path, rel: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The guard and the bounded read together: what every reader of a dataset row calls."""
    return read_file(resolve_inside(root, rel), limit)


def read_capped(fh: IO[bytes], limit: int, compressed: int | None = None) -> bytes:
    """Read ``fh`` to its end, refusing (without keeping it) anything over ``limit`` bytes.

    ``compressed`` is the member's compressed size, to tell a compression bomb from a big file.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = fh.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            chunks.clear()
            if compressed is not None and total > BOMB_RATIO * max(compressed, 1):
                raise Refused(
                    Code.COMPRESSION_BOMB,
                    f"inflates past {limit:,} bytes from {compressed:,} compressed bytes",
                )
            raise Refused(Code.TOO_LARGE, _over(total, limit, at_least=True))
        chunks.append(chunk)


def _over(size: int, limit: int, at_least: bool = False) -> str:
    more = "over" if at_least else f"{size:,} bytes,"
    return f"file is {more} the limit of {limit:,} bytes (raise it with --max-file-mb)"
