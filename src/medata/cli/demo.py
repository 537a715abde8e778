"""``medata demo [DIR]``: generate the three source layouts and merge them."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.demo.run import demo
from medata.report.console import RichProgress, render_merge
from medata.report.text import markup_safe


def demo_command(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo (created).")] = Path(
        "medata-demo"
    ),
    per_class: Annotated[int, typer.Option(help="Images per class and source.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete a non-empty DIR and start again.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate small synthetic versions of the three sources and merge them."""
    show = not (quiet or as_json)
    console = Console(stderr=True)

    def announce(paths: list[Path]) -> None:
        if show:
            console.print(f"Generated sources in {markup_safe(str(directory / 'sources'))}:")
            for p in paths:
                console.print(f"  {markup_safe(str(p))}")

    bar = RichProgress(console) if show else None
    with bar if bar is not None else contextlib.nullcontext():
        result = demo(directory, per_class, seed, replace, bar, announce)
    if as_json:
        print(json.dumps(result.summary, indent=2, sort_keys=True))
        return
    if quiet:
        return
    render_merge(Console(), result.summary)
    baseline = result.baseline
    if "skipped" in baseline:
        console.print(f"Skipping the baseline: {markup_safe(baseline['skipped'])}")
    else:
        console.print(
            f"Quick baseline in {markup_safe(baseline['run'])}: test accuracy "
            f"{baseline['accuracy']:.3f}, macro-F1 {baseline['macro_f1']:.3f} (chance: 0.167)"
        )
    out = markup_safe(str(result.merged))
    console.print(f"Next: look at {out}/annotations.csv, or load {out}/train with any ImageFolder.")
