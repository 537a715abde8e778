"""Any folder of ``<split>/<class>/`` or ``<class>/`` images that matches no known source."""

from __future__ import annotations

from medata.sources.base import Source, register


@register
class Generic(Source):
    name = "generic"
    description = "generic <split>/<class>/ or <class>/ image folder"
