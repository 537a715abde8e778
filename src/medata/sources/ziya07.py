"""ziya07 "Facial Micro-Expression Recognition": a FER-2013 part (train) and a CK+48 part (test).

Top-level names are not known for sure, so each file is assigned to a part by its content: a
``ck+`` folder or an ``S###_###_########.png`` name is CK+ (test, grouped by subject ``S###``), a
bare numeric name is FER (train). Anything else in the archive follows the shared rule.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from medata.ckplus import subject_of
from medata.labels import LabelMap
from medata.sources.base import Placement, Source, label_folder, register, share

_CK_NAME = re.compile(r"^(S\d{3})_\d{3}_\d{8}\.png$", re.IGNORECASE)
_FER_NAME = re.compile(r"^\d+\.(jpe?g|png)$", re.IGNORECASE)


def _is_ck(path: str) -> bool:
    folders = {f.casefold() for f in posixpath.dirname(path).split("/")}
    return "ck+" in folders or "ck" in folders or bool(_CK_NAME.match(posixpath.basename(path)))


@register
class Ziya07(Source):
    name = "ziya07"
    description = "ziya07 Facial Micro-Expression Recognition (FER-2013 -> train, CK+48 -> test)"

    def score(self, paths: Sequence[str], labels: LabelMap) -> float:
        ck = share(paths, _is_ck)
        fer = share(paths, lambda p: bool(_FER_NAME.match(posixpath.basename(p))))
        if ck > 0 and fer > 0:
            return 0.95
        if ck > 0.5:
            return 0.85
        return 0.0 if fer < 0.8 else 0.6

    def place(self, path: str, labels: LabelMap) -> Placement:
        folders = posixpath.dirname(path).split("/") if "/" in path else []
        source_label = label_folder(folders, labels)
        name = posixpath.basename(path)
        if _is_ck(path):
            return Placement(source_label, "test", "ck+", subject_of(name))
        # FER files go to train, unless a copy of the archive carries its own split folders.
        return super().place(path, labels)
