"""``medata review DIR``: the images a person should look at, ranked, with pictures."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.review.options import KIND_NAMES, LabelOptions, ReviewOptions, parse_kinds


def review_command(
    directory: Annotated[Path, typer.Argument(help="A merged dataset folder.")],
    labels: Annotated[
        bool, typer.Option("--labels", help="Also find likely label errors (k-fold training).")
    ] = False,
    folds: Annotated[int, typer.Option(help="Folds for --labels.")] = 5,
    quick: Annotated[bool, typer.Option("--quick", help="A fast, rougher --labels pass.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the folds and the training.")] = 0,
    exclude: Annotated[
        str | None,
        typer.Option(
            help=f"Take kept files of these kinds out (comma-separated: "
            f"{', '.join(KIND_NAMES)}); recorded in the manifest."
        ),  # fmt: skip
    ] = None,
    sheets: Annotated[
        Path | None, typer.Option(help="Folder for the contact sheets (default <DIR>-review).")
    ] = None,
    no_sheets: Annotated[bool, typer.Option("--no-sheets", help="Skip the pictures.")] = False,
    per_sheet: Annotated[int, typer.Option(help="Images per kind's sheet, worst first.")] = 40,
    source: Annotated[
        list[Path] | None, typer.Option(help="Original inputs, to draw files not in DIR.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Rank quality problems (dark, light, blurry, ...) and likely label errors; write
    review.parquet in DIR. Changes nothing unless --exclude is given."""
    from medata.report.console import RichProgress, render_review
    from medata.review.run import review

    options = ReviewOptions(
        labels=LabelOptions(folds, quick, seed) if labels else None,
        exclude=parse_kinds(exclude, "--exclude") if exclude else (),
        sheets=sheets,
        pictures=not no_sheets,
        per_sheet=per_sheet,
        sources=tuple(source or ()),
    )
    bar = RichProgress(Console(stderr=True)) if not (quiet or as_json) else None
    with bar if bar is not None else contextlib.nullcontext():
        result = review(directory, options, bar)
    if as_json:
        print(json.dumps(result.summary, indent=2, sort_keys=True))
    elif not quiet:
        render_review(Console(), result.summary, result.table)
