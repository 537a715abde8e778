"""Inputs given as fsspec URLs (``medata[cloud]``): ``s3://bucket/x.zip``, ``gs://...``, a folder
URL such as ``s3://bucket/prefix/``, read in place (an archive through random-access reads of
its central directory and members, never downloaded whole). ``file://`` URLs are plain local
paths. Credentials come from each machine's usual environment (``AWS_*``, ``~/.aws``, the
instance role); medata never reads, stores or prints them, and error messages name only the URL
and the kind of failure.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal
from urllib.parse import unquote, urlsplit

from medata.errors import InputError, UsageError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    """``scheme://...`` (a Windows path such as ``C:\\x`` is not one)."""
    return bool(_SCHEME.match(text))


def local_path(url: str) -> str | None:
    """The local path a ``file://`` URL names, or None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return None
    return unquote(parts.path) or "/"


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise UsageError("URL inputs need fsspec: pip install 'medata[cloud]'") from None
    return fsspec


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` (cached by fsspec per process) and the path within it."""
    fsspec = _fsspec()
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:  # a protocol whose package is not installed
        scheme = urlsplit(url).scheme
        hint = f"install the fsspec filesystem for {scheme}:// (s3fs comes with medata[cloud])"
        raise UsageError(f"cannot read {scheme}:// URLs here ({_why(exc)}); {hint}") from None


def _why(exc: BaseException) -> str:
    """One line about a failure: the exception's type and the first line of its message (cloud
    libraries never put credentials in their messages; the URL is the user's own)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def kind_of(url: str) -> Literal["zip", "dir"]:
    """``zip`` for an archive object, ``dir`` for a prefix holding objects; InputError else."""
    fs, path = filesystem(url)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise InputError(f"input not found: {url}") from None
    except Exception as exc:  # noqa: BLE001 - any storage error is a one-line input error
        raise InputError(f"cannot open input {url}: {_why(exc)}") from None
    if info.get("type") == "directory":
        return "dir"
    try:
        with fs.open(path, "rb") as fh:
            if _is_zip(fh):
                return "zip"
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read input {url}: {_why(exc)}") from None
    raise InputError(f"not a folder or a zip archive: {url}")


def _is_zip(fh: IO[bytes]) -> bool:
    try:
        return zipfile.is_zipfile(fh)
    except ValueError:  # fsspec refuses a seek before the start of a short object
        return False


def open_file(url: str) -> IO[bytes]:
    """A seekable binary handle on the object (random access by range requests)."""
    fs, path = filesystem(url)
    return fs.open(path, "rb")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RemoteFile:
    rel: str  # POSIX path below the folder URL
    url: str  # reopens it anywhere (the key of its entry)
    size: int
    mtime_ns: int | None
    tag: str  # ETag or modification time: what changes when the object does


def list_folder(url: str) -> list[RemoteFile]:
    """Every object below the folder URL (object stores have no links or special files)."""
    fs, path = filesystem(url)
    root = path.rstrip("/")
    try:
        found = fs.find(root, detail=True, withdirs=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot list input {url}: {_why(exc)}") from None
    out = []
    for name, info in sorted(found.items()):
        rel = posixpath.relpath(name, root) if name != root else posixpath.basename(name)
        mtime = _mtime_ns(info)
        tag = str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or mtime or "")
        out.append(RemoteFile(rel, fs.unstrip_protocol(name), int(info.get("size") or 0), mtime,
                              tag.strip('"')))  # fmt: skip
    return out


def _mtime_ns(info: dict[str, Any]) -> int | None:
    for key in ("LastModified", "mtime", "updated", "last_modified"):
        value = info.get(key)
        if isinstance(value, datetime):
            return int(value.timestamp() * 1_000_000_000)
        if isinstance(value, int | float):
            return int(value * 1_000_000_000)
    return None
