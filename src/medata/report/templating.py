"""HTML pages from Jinja2 templates (``report/templates``), autoescaped: every name, label and
path from a dataset is escaped by the template, never by hand. Markup built here (the SVG
charts, whose own text is escaped where they are drawn) is passed as ``Markup``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("medata.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_page(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def markup(svg: str) -> Markup:
    """Trusted markup made by medata's own drawing helpers."""
    return Markup(svg)  # noqa: S704 - built by medata; dataset text in it is escaped
