"""muhammadsaadkhankori "microexpression": six class folders, no neutral, no split; goes to train.

Names, formats, sizes and depth are unknown, so placement is the shared rule (nearest class folder
on the path); detection looks for class folders that are exactly kori's six and no split folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from medata.labels import LabelMap, split_of
from medata.sources.base import Source, register

KORI_CLASSES = frozenset({"anger", "disgust", "fear", "happiness", "sadness", "surprise"})


@register
class Kori(Source):
    name = "kori"
    description = "muhammadsaadkhankori microexpression (six class folders, no split)"
    default_split = "train"

    def score(self, paths: Sequence[str], labels: LabelMap) -> float:
        if not paths:
            return 0.0
        parents = {posixpath.basename(posixpath.dirname(p)).casefold() for p in paths}
        folders = {f.casefold() for p in paths for f in posixpath.dirname(p).split("/")}
        if any(split_of(f) for f in folders):
            return 0.0
        if "microexpression" in folders and parents & KORI_CLASSES:
            return 0.9
        if len(parents & KORI_CLASSES) >= 5 and "neutral" not in parents:
            return 0.8
        return 0.0
