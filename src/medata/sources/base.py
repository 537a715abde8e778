"""The source interface: a small class with two hooks, ``score`` and ``place``.

Walking, reading, debris handling and probing are shared (``inputs``, ``probe``, ``pipeline``); a
source only says how confident it is that a list of paths is its layout, and where one path goes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from medata.errors import UsageError
from medata.labels import LabelMap, split_of


@dataclass(frozen=True)
class Placement:
    source_label: str | None  # the folder name that gave the label, as found
    split: str  # train or test
    source_split: str | None = None  # the split folder name as found, if any
    group: str | None = None  # key that must stay on one side of a split (CK+ subject)


class Source:
    """Base layout: ``<split>/<class>/file`` or ``<class>/file`` at any depth."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_split: ClassVar[str] = "train"

    def score(self, paths: Sequence[str], labels: LabelMap) -> float:
        """0..1: how sure this source is that ``paths`` (one input's images) are its layout."""
        return 0.0

    def place(self, path: str, labels: LabelMap) -> Placement:
        folders = posixpath.dirname(path).split("/") if "/" in path else []
        source_label = label_folder(folders, labels)
        split_folder = next((f for f in reversed(folders) if split_of(f)), None)
        split = split_of(split_folder) if split_folder else self.default_split
        return Placement(source_label, split or self.default_split, split_folder)


def label_folder(folders: Sequence[str], labels: LabelMap) -> str | None:
    """The nearest folder on the path that names a known class; else the immediate parent."""
    for folder in reversed(folders):
        if labels.lookup(folder) is not None:
            return folder
    return folders[-1] if folders else None


REGISTRY: dict[str, Source] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: register a source under its ``name``; a duplicate name is an error."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in REGISTRY:
        raise ValueError(f"a source named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls()
    return cls


def get_source(name: str) -> Source:
    try:
        return REGISTRY[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UsageError(f"unknown source kind {name!r} (known: {known})") from None


def detect(paths: Sequence[str], labels: LabelMap) -> tuple[Source, float]:
    """The registered source with the highest score; generic when none scores over 0.5."""
    best: tuple[float, str] = (0.0, "generic")
    for name in sorted(REGISTRY):
        s = REGISTRY[name].score(paths, labels)
        if s > best[0]:
            best = (s, name)
    if best[0] <= 0.5:
        return REGISTRY["generic"], best[0]
    return REGISTRY[best[1]], best[0]


def share(paths: Sequence[str], pred: Callable[[str], bool]) -> float:
    return sum(1 for p in paths if pred(p)) / len(paths) if paths else 0.0
