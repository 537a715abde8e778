"""kmirfan "Micro Expressions": ``Micro_Expressions/{train,test}/<class>/<class><N>.jpg``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from medata.labels import LabelMap
from medata.sources.base import Source, register, share

_NAME = re.compile(r"(?:^|/)(train|test)/([a-z]+)/\2\d+\.jpe?g$", re.IGNORECASE)


@register
class Kmirfan(Source):
    name = "kmirfan"
    description = (
        "kmirfan Micro Expressions (Micro_Expressions/{train,test}/<class>/<class><N>.jpg)"
    )

    def score(self, paths: Sequence[str], labels: LabelMap) -> float:
        if any(
            p.lower().startswith("micro_expressions/") or "/micro_expressions/" in p.lower()
            for p in paths
        ):
            return 0.95
        return 0.9 * share(paths, lambda p: bool(_NAME.search(p)))
