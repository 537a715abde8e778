"""Inputs: a folder or a zip archive, local or at an fsspec URL (``medata.remote``), listed as
entries and read member by member.

Listing never follows a link out of the source and never trusts an archive member's name: such
entries come back with a reason code and are never opened. Nothing here writes anywhere.
"""

from __future__ import annotations

import calendar
import os
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from medata.errors import InputError
from medata.guard import (
    BOMB_RATIO,
    MAX_FILE_BYTES,
    Refused,
    check_regular,
    file_type_problem,
    inside,
    read_capped,
    read_file,
    unsafe_reason,
)
from medata.problems import Code
from medata.remote import is_url, kind_of, list_folder, local_path, open_file

Kind = Literal["zip", "dir"]

# A member declaring more than guard.BOMB_RATIO times its compressed size (and over
# BOMB_MIN_BYTES) is refused before reading: real images compress at most ~20x.
BOMB_MIN_BYTES = 16 * 1024 * 1024
IMAGE_EXTS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".bmp",
        ".gif",
        ".webp",
        ".tif",
        ".tiff",
        ".ppm",
        ".pgm",
    }
)
# Extensions that fit each decoded format (anything else earns a warning).
FORMAT_EXTENSIONS: dict[str, set[str]] = {
    "JPEG": {".jpg", ".jpeg", ".jfif", ".jpe"}, "MPO": {".jpg", ".jpeg", ".jfif", ".jpe"},
    "PNG": {".png"},
    "GIF": {".gif"}, "BMP": {".bmp"}, "WEBP": {".webp"}, "TIFF": {".tif", ".tiff"},
    "PPM": {".ppm", ".pgm", ".pbm", ".pnm"},
}  # fmt: skip
DEBRIS_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


@dataclass(frozen=True)
class Entry:
    """One file in an input. ``key`` addresses it for reading (a path or a zip member index)."""

    path: str  # POSIX path relative to the input root
    key: str
    size: int
    problem: Code | None = None
    detail: str = ""
    mtime_ns: int | None = None  # the file's mtime, or the zip member's timestamp read as UTC
    fingerprint: str = ""  # size and CRC (zip) or size and mtime (folder): keys the resume cache


@dataclass(frozen=True)
class InputRef:
    """A picklable handle on an input: enough for a worker process to reopen it."""

    kind: Kind
    location: str  # absolute path of the folder or archive, or its URL (``remote``)
    limit: int = MAX_FILE_BYTES  # bytes read at most per file or member

    @property
    def remote(self) -> bool:
        return is_url(self.location)

    @property
    def name(self) -> str:
        if self.remote:
            return posixpath.basename(self.location.rstrip("/"))
        return Path(self.location).name


def open_input(path: Path | str, limit: int = MAX_FILE_BYTES) -> InputRef:
    """Check that ``path`` (a local path, or an fsspec URL: ``s3://bucket/x.zip``, a folder URL)
    is a readable folder or zip archive; one-line error otherwise."""
    if isinstance(path, str) and is_url(path):
        local = local_path(path)
        if local is None:
            return InputRef(kind_of(path), path.rstrip("/") if path.endswith("/") else path, limit)
        path = Path(local)
    path = Path(path)
    try:
        return _open_input(path, limit)
    except OSError as exc:  # a name too long, a loop of links, permission denied
        raise InputError(f"cannot open input {path}: {exc.strerror}") from None


def _open_input(path: Path, limit: int) -> InputRef:
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        return InputRef("dir", str(path.resolve()), limit)
    try:
        check_regular(path)  # a FIFO given as an input would block zipfile forever
    except Refused as exc:
        raise InputError(f"not a folder or a zip archive: {path} ({exc.detail})") from None
    if not zipfile.is_zipfile(path):
        raise InputError(f"not a folder or a zip archive: {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read zip archive {path}: {exc}") from exc
    return InputRef("zip", str(path.resolve()), limit)


def list_entries(ref: InputRef) -> list[Entry]:
    """Every file in the input, in a stable order, with unsafe ones marked."""
    entries = _list_zip(ref) if ref.kind == "zip" else _list_dir(ref)
    return sorted(entries, key=lambda e: (e.path, e.key))


def member_name(raw: str) -> str:
    """A member's name as a POSIX path: backslashes as slashes, ``./`` and empty parts dropped
    (some archivers store ``./Micro_Expressions/...``)."""
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _list_zip(ref: InputRef) -> list[Entry]:
    try:
        if ref.remote:
            with open_file(ref.location) as fh, zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
        else:
            with zipfile.ZipFile(ref.location) as zf:
                infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read zip archive {ref.location}: {exc}") from exc
    overlapping = _overlapping(infos)
    out: list[Entry] = []
    for index, info in enumerate(infos):
        if info.is_dir():
            continue
        unsafe = unsafe_reason(info.filename) is not None
        name = info.filename.replace("\\", "/") if unsafe else member_name(info.filename)
        key = str(index)
        problem = _member_problem(info, index, overlapping, unsafe)
        if problem is not None:
            out.append(Entry(name, key, info.file_size, *problem))
        else:
            out.append(Entry(name, key, info.file_size, mtime_ns=_zip_time_ns(info),
                             fingerprint=f"{info.file_size}:crc{info.CRC:08x}"))  # fmt: skip
    return out


def _member_problem(
    info: zipfile.ZipInfo, index: int, overlapping: dict[int, int], unsafe: bool
) -> tuple[Code, str] | None:
    if unsafe:
        return Code.UNSAFE_PATH, "member path leaves the archive root"
    if info.flag_bits & 0x1:
        return Code.ENCRYPTED, "member is encrypted"
    if index in overlapping:
        return (Code.COMPRESSION_BOMB,
                f"member data overlaps member #{overlapping[index]}; not extracted")  # fmt: skip
    if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        return Code.COMPRESSION_BOMB, f"compression ratio {ratio}:1 over the limit {BOMB_RATIO}:1"
    return None


def _overlapping(infos: list[zipfile.ZipInfo]) -> dict[int, int]:
    """Members whose local header lies inside another member's data (overlapping-member bombs
    make every entry inflate the same stream): member index -> the index it overlaps."""
    order = sorted((i for i, z in enumerate(infos) if not z.is_dir()),
                   key=lambda i: (infos[i].header_offset, i))  # fmt: skip
    out: dict[int, int] = {}
    end, owner = -1, -1
    for i in order:
        info = infos[i]
        if info.header_offset < end:
            out[i] = owner
            continue
        # 30-byte local header + name; extra fields make the real end later, never earlier.
        end = info.header_offset + 30 + len(info.orig_filename.encode("utf-8", "replace"))
        end += info.compress_size
        owner = i
    return out


def _zip_time_ns(info: zipfile.ZipInfo) -> int:
    try:
        return calendar.timegm((*info.date_time, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError):
        return 0


def _list_remote_dir(ref: InputRef) -> list[Entry]:
    """Objects below a folder URL. A name that would climb out or is absolute is never opened."""
    out: list[Entry] = []
    for f in list_folder(ref.location):
        why = unsafe_reason(f.rel)
        if why is not None:
            out.append(Entry(f.rel, f.url, 0, Code.UNSAFE_PATH, f"{why}; not opened"))
        else:
            out.append(Entry(member_name(f.rel), f.url, f.size, mtime_ns=f.mtime_ns,
                             fingerprint=f"{f.size}:{f.tag}"))  # fmt: skip
    return out


def _list_dir(ref: InputRef) -> list[Entry]:
    if ref.remote:
        return _list_remote_dir(ref)
    root = Path(ref.location)
    out: list[Entry] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        rel = where.relative_to(root).as_posix() if where != root else "."
        out.append(
            Entry(rel + "/", str(where), 0, Code.UNREADABLE, f"cannot list folder: {exc.strerror}")
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        base = Path(dirpath)
        for d in list(dirnames):
            full = base / d
            if full.is_symlink():
                rel = full.relative_to(root).as_posix()
                inside_root = inside(root, full)  # never raises, even on a loop
                reason = Code.LINKED_FOLDER if inside_root else Code.LINK_OUTSIDE
                out.append(
                    Entry(
                        rel + "/", str(full), 0, reason, "symbolic link to a folder; not followed"
                    )
                )
        for f in filenames:
            out.append(_dir_entry(base / f, root))
    return out


def printable_name(rel: str) -> str | None:
    """The name with undecodable bytes shown as ``\\xNN``, or None when it is valid UTF-8."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(rel).decode("utf-8", "backslashreplace")
    return None


def _dir_entry(full: Path, root: Path) -> Entry:
    rel = full.relative_to(root).as_posix()
    shown = printable_name(rel)
    if shown is not None:
        return Entry(shown, str(full), 0, Code.BAD_NAME, "file name is not valid UTF-8")
    if full.is_symlink() and not inside(root, full):
        return Entry(
            rel, str(full), 0, Code.LINK_OUTSIDE, "symbolic link points outside the source"
        )
    try:
        st = full.stat()
    except OSError as exc:
        return Entry(rel, str(full), 0, Code.UNREADABLE, f"cannot stat: {exc.strerror}")
    problem = file_type_problem(st.st_mode)
    if problem is not None:
        return Entry(rel, str(full), 0, Code.UNREADABLE, problem)
    if not os.access(full, os.R_OK):
        return Entry(rel, str(full), st.st_size, Code.UNREADABLE, "permission denied")
    return Entry(rel, str(full), st.st_size, mtime_ns=st.st_mtime_ns,
                 fingerprint=f"{st.st_size}:mtime{st.st_mtime_ns}")  # fmt: skip


_ZIP_CACHE: dict[tuple[str, int, int], zipfile.ZipFile] = {}
_HANDLES: dict[tuple[str, int, int], IO[bytes]] = {}  # remote archives: the open object


def _forget_zips_after_fork() -> None:
    """A forked child must not use its parent's open archives: the file offset is shared between
    the processes, so interleaved reads return each other's bytes. Drop them without closing."""
    _ZIP_CACHE.clear()
    _HANDLES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_zips_after_fork)


def _cached_zip(location: str) -> zipfile.ZipFile:
    """One open ZipFile per archive and process: parsing a 10,000-member central directory costs
    ~0.2 s, far more than probing a partition of small images (a remote archive: one set of
    range requests per process, and a changed object fails the sha256 check of the copy)."""
    if is_url(location):
        key = (location, -1, -1)
    else:
        st = os.stat(location)
        key = (location, st.st_mtime_ns, st.st_size)
    zf = _ZIP_CACHE.get(key)
    if zf is None:
        if len(_ZIP_CACHE) >= 8:
            old = next(iter(_ZIP_CACHE))
            _ZIP_CACHE.pop(old).close()
            handle = _HANDLES.pop(old, None)
            if handle is not None:
                handle.close()
        if key[1] == -1:
            handle = _HANDLES[key] = open_file(location)
            zf = _ZIP_CACHE[key] = zipfile.ZipFile(handle)
        else:
            zf = _ZIP_CACHE[key] = zipfile.ZipFile(location)
    return zf


class Reader:
    """Reads entry bytes from one input, at most ``limit`` bytes an entry (counted as read)."""

    def __init__(self, ref: InputRef) -> None:
        self.ref = ref
        self.limit = ref.limit
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> Reader:
        if self.ref.kind == "zip":
            self._zip = _cached_zip(self.ref.location)
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip = None

    def read(self, key: str) -> bytes:
        """The entry's bytes. Raises ``guard.Refused`` (too large, bomb, special file), OSError
        or zipfile errors on failure."""
        if self._zip is not None:
            info = self._zip.infolist()[int(key)]
            with self._zip.open(info) as fh:
                return read_capped(fh, self.limit, compressed=info.compress_size)
        if self.ref.remote:
            with open_file(key) as fh:
                return read_capped(fh, self.limit)
        return read_file(key, self.limit)


def is_debris(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p.startswith(".") or p == "__MACOSX" for p in parts[:-1])
        or name.startswith(".")
        or name.casefold() in DEBRIS_NAMES
    )


def stem_and_ext(path: str) -> tuple[str, str]:
    base = posixpath.basename(path)
    stem, ext = posixpath.splitext(base)
    return stem, ext.lower()
