"""``medata demo [DIR]``: generate the three source layouts and merge them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.cli.common import run_merge
from medata.demo.run import prepare_folder, quick_baseline
from medata.demo.synth import make_sources
from medata.errors import UsageError
from medata.pipeline import InputSpec, MergeOptions
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
    if per_class < 1:
        raise UsageError(f"--per-class must be 1 or more, got {per_class}")
    prepare_folder(directory, replace)
    console = Console(stderr=True)
    sources = make_sources(directory / "sources", n=per_class, seed=seed)
    if not (quiet or as_json):
        console.print(f"Generated sources in {markup_safe(str(directory / 'sources'))}:")
        for p in sources.paths:
            console.print(f"  {markup_safe(str(p))}")
    specs = [InputSpec(p) for p in sources.paths]
    out = directory / "merged"
    summary = run_merge(
        specs,
        out,
        MergeOptions(),
        console,
        show_progress=not (quiet or as_json),
        render=not (quiet or as_json),
    )
    baseline = quick_baseline(out, directory / "baseline")
    summary["baseline"] = None if "skipped" in baseline else baseline
    if not (quiet or as_json):
        if "skipped" in baseline:
            console.print(f"Skipping the baseline: {markup_safe(baseline['skipped'])}")
        else:
            console.print(
                f"Quick baseline in {markup_safe(baseline['run'])}: test accuracy "
                f"{baseline['accuracy']:.3f}, macro-F1 {baseline['macro_f1']:.3f} (chance: 0.167)"
            )
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif not quiet:
        console.print(
            f"Next: look at {markup_safe(str(out))}/annotations.csv, or load "
            f"{markup_safe(str(out))}/train with any ImageFolder."
        )
