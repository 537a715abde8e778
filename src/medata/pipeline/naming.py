"""Output names: ``<split>/<Class>/<source>-<stem>-<hash8><ext>`` for each kept row."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pandas as pd

from medata.inputs import stem_and_ext
from medata.labels import SPLIT_WORD_IN_NAME
from medata.manifest import kept_rows
from medata.pipeline.probing import FORMAT_EXT


def slug(stem: str, limit: int = 48) -> str:
    """ASCII, lower case, split words removed, at most ``limit`` characters."""
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    text = SPLIT_WORD_IN_NAME.sub(" ", text)
    text = "_".join(re.findall(r"[a-z0-9]+", text))
    return text[:limit].strip("_") or "img"


def name_kept(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``path`` set for every kept row (in frame order) and cleared elsewhere."""
    frame = frame.copy()
    kept = kept_rows(frame)
    cols = ("source", "input", "source_path", "split", "label", "format")
    sub = frame.loc[kept, list(cols)].astype(object)
    sub = sub.where(sub.notna(), None)
    names = output_names(sub.to_dict("records"))
    frame["path"] = pd.array([None] * len(frame), dtype=frame["path"].dtype)
    frame.loc[kept, "path"] = pd.array(names, dtype=frame["path"].dtype)
    return frame


def output_names(rows: list[dict[str, object]]) -> list[str]:
    """One relative path per row (keys ``source``, ``input``, ``source_path``, ``split``,
    ``label``, ``format``).

    The hash of (source, input, source path) makes names unique and stable; names are lower case,
    so they stay distinct on case-insensitive file systems; a counter settles any remaining clash.
    """
    used: set[str] = set()
    out: list[str] = []
    for row in rows:
        stem, ext = stem_and_ext(str(row["source_path"]))
        ext = FORMAT_EXT.get(str(row.get("format") or ""), ext or ".img")
        key = f"{row['source']}\0{row['input']}\0{row['source_path']}".encode()
        h8 = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:8]
        name = f"{row['source']}-{slug(stem)}-{h8}"
        path = f"{row['split']}/{row['label']}/{name}{ext}"
        n = 2
        while path.casefold() in used:
            path = f"{row['split']}/{row['label']}/{name}-{n}{ext}"
            n += 1
        used.add(path.casefold())
        out.append(path)
    return out
