"""Inputs: a folder or a zip archive, listed as entries and read member by member.

Listing never follows a link out of the source and never trusts an archive member's name: such
entries come back with a reason code and are never opened. Nothing here writes anywhere.
"""

from __future__ import annotations

import calendar
import os
import posixpath
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medata.errors import InputError
from medata.records import Reason

Kind = Literal["zip", "dir"]

# A member whose uncompressed size is over this many times its compressed size (and over
# BOMB_MIN_BYTES) is refused: real images compress at most ~20x.
BOMB_RATIO = 200
BOMB_MIN_BYTES = 16 * 1024 * 1024
IMAGE_EXTS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jfif"}
)
# Extensions that fit each decoded format (anything else earns a warning).
FORMAT_EXTENSIONS: dict[str, set[str]] = {
    "JPEG": {".jpg", ".jpeg", ".jfif", ".jpe"}, "MPO": {".jpg", ".jpeg"}, "PNG": {".png"},
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
    problem: Reason | None = None
    detail: str = ""
    mtime_ns: int | None = None  # the file's mtime, or the zip member's timestamp read as UTC
    fingerprint: str = ""  # size and CRC (zip) or size and mtime (folder): keys the resume cache


@dataclass(frozen=True)
class InputRef:
    """A picklable handle on an input: enough for a worker process to reopen it."""

    kind: Kind
    location: str  # absolute path of the folder or archive

    @property
    def name(self) -> str:
        return Path(self.location).name


def open_input(path: Path) -> InputRef:
    """Check that ``path`` is a readable folder or zip archive; one-line error otherwise."""
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        return InputRef("dir", str(path.resolve()))
    if not zipfile.is_zipfile(path):
        raise InputError(f"not a folder or a zip archive: {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read zip archive {path}: {exc}") from exc
    return InputRef("zip", str(path.resolve()))


def list_entries(ref: InputRef) -> list[Entry]:
    """Every file in the input, in a stable order, with unsafe ones marked."""
    entries = _list_zip(ref) if ref.kind == "zip" else _list_dir(ref)
    return sorted(entries, key=lambda e: (e.path, e.key))


def _unsafe_member(name: str) -> bool:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    parts = name.replace("\\", "/").split("/")
    return ".." in parts


def _list_zip(ref: InputRef) -> list[Entry]:
    try:
        with zipfile.ZipFile(ref.location) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read zip archive {ref.location}: {exc}") from exc
    out: list[Entry] = []
    for index, info in enumerate(infos):
        if info.is_dir():
            continue
        name = info.filename.replace("\\", "/")
        key = str(index)
        if _unsafe_member(info.filename):
            out.append(
                Entry(
                    name,
                    key,
                    info.file_size,
                    Reason.UNSAFE_PATH,
                    "member path leaves the archive root",
                )
            )
        elif info.flag_bits & 0x1:
            out.append(Entry(name, key, info.file_size, Reason.ENCRYPTED, "member is encrypted"))
        elif info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            out.append(
                Entry(
                    name,
                    key,
                    info.file_size,
                    Reason.COMPRESSION_BOMB,
                    f"compression ratio {ratio}:1 over the limit {BOMB_RATIO}:1",
                )
            )
        else:
            out.append(Entry(name, key, info.file_size, mtime_ns=_zip_time_ns(info),
                             fingerprint=f"{info.file_size}:crc{info.CRC:08x}"))  # fmt: skip
    return out


def _zip_time_ns(info: zipfile.ZipInfo) -> int:
    try:
        return calendar.timegm((*info.date_time, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError):
        return 0


def _list_dir(ref: InputRef) -> list[Entry]:
    root = Path(ref.location)
    out: list[Entry] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        rel = where.relative_to(root).as_posix() if where != root else "."
        out.append(
            Entry(
                rel + "/", str(where), 0, Reason.UNREADABLE, f"cannot list folder: {exc.strerror}"
            )
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        base = Path(dirpath)
        for d in list(dirnames):
            full = base / d
            if full.is_symlink():
                rel = full.relative_to(root).as_posix()
                inside = _inside(full, root)
                reason = Reason.LINKED_FOLDER if inside else Reason.LINK_OUTSIDE
                out.append(
                    Entry(
                        rel + "/", str(full), 0, reason, "symbolic link to a folder; not followed"
                    )
                )
        for f in filenames:
            out.append(_dir_entry(base / f, root))
    return out


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


def _dir_entry(full: Path, root: Path) -> Entry:
    rel = full.relative_to(root).as_posix()
    if full.is_symlink() and not _inside(full, root):
        return Entry(
            rel, str(full), 0, Reason.LINK_OUTSIDE, "symbolic link points outside the source"
        )
    try:
        st = full.stat()
    except OSError as exc:
        return Entry(rel, str(full), 0, Reason.UNREADABLE, f"cannot stat: {exc.strerror}")
    if not stat.S_ISREG(st.st_mode):
        return Entry(rel, str(full), 0, Reason.UNREADABLE, "not a regular file")
    if not os.access(full, os.R_OK):
        return Entry(rel, str(full), st.st_size, Reason.UNREADABLE, "permission denied")
    return Entry(rel, str(full), st.st_size, mtime_ns=st.st_mtime_ns,
                 fingerprint=f"{st.st_size}:mtime{st.st_mtime_ns}")  # fmt: skip


_ZIP_CACHE: dict[tuple[str, int, int], zipfile.ZipFile] = {}


def _cached_zip(location: str) -> zipfile.ZipFile:
    """One open ZipFile per archive and process: parsing a 10,000-member central directory costs
    ~0.2 s, far more than probing a partition of small images."""
    st = os.stat(location)
    key = (location, st.st_mtime_ns, st.st_size)
    zf = _ZIP_CACHE.get(key)
    if zf is None:
        if len(_ZIP_CACHE) >= 8:
            _ZIP_CACHE.pop(next(iter(_ZIP_CACHE))).close()
        zf = _ZIP_CACHE[key] = zipfile.ZipFile(location)
    return zf


class Reader:
    """Reads entry bytes from one input."""

    def __init__(self, ref: InputRef) -> None:
        self.ref = ref
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> Reader:
        if self.ref.kind == "zip":
            self._zip = _cached_zip(self.ref.location)
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip = None

    def read(self, key: str) -> bytes:
        """The entry's bytes. Raises OSError (or zipfile errors) on failure."""
        if self._zip is not None:
            return self._zip.read(self._zip.infolist()[int(key)])
        with open(key, "rb") as fh:
            return fh.read()


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
