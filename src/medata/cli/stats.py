"""``medata stats DIR_OR_MANIFEST``: class balance, sources, sizes, fates, duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.report.console import render_stats
from medata.report.text import markup_safe


def stats_command(
    target: Annotated[Path, typer.Argument(help="A merged dataset folder or a manifest.parquet.")],
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
    source: Annotated[
        list[Path] | None, typer.Option(help="Original inputs, for thumbnails of removed files.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Reads only the manifest (plus thumbnails for the HTML gallery): no image is decoded."""
    from medata.api import stats

    numbers = stats(target, html_file, source or [])
    if as_json:
        print(json.dumps(numbers, indent=2, sort_keys=True))
    elif not quiet:
        render_stats(Console(width=100), numbers)
        if html_file is not None:
            Console().print(f"HTML report: {markup_safe(str(html_file))}")
