"""``medata demo [DIR]``: generate the three source layouts and merge them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.cli.common import run_merge
from medata.errors import OutputError, UsageError
from medata.ingest import InputSpec, MergeOptions
from medata.report.text import markup_safe
from medata.synth import make_sources

MARKER = ".medata-demo"


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
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()):
        # Never delete a folder this run did not create without an explicit --replace: a marker
        # file proves nothing (anyone can leave one in a folder full of other work).
        if not replace:
            raise OutputError(f"{directory} is not empty (use --replace to delete it and start "
                              "again)")  # fmt: skip
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by medata demo; safe to delete\n")
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
    summary["baseline"] = _quick_baseline(out, directory / "baseline", console, quiet or as_json)
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif not quiet:
        console.print(
            f"Next: look at {markup_safe(str(out))}/annotations.csv, or load "
            f"{markup_safe(str(out))}/train with any ImageFolder."
        )


def _quick_baseline(
    dataset: Path, run_dir: Path, console: Console, quiet: bool
) -> dict[str, object] | None:
    """End the demo with a --quick reference model, when PyTorch is installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        if not quiet:
            console.print("Skipping the baseline: pip install 'medata[train]' to train one.")
        return None
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    try:
        result = train(load_rows(dataset), run_dir, TrainConfig(quick=True))
    except UsageError as exc:  # too few generated images (a tiny --per-class)
        if not quiet:
            console.print(f"Skipping the baseline: {markup_safe(str(exc))}")
        return None
    test = result.metrics["test"]
    if not quiet:
        console.print(
            f"Quick baseline in {markup_safe(str(run_dir))}: test accuracy {test['accuracy']:.3f}, "
            f"macro-F1 {test['macro_f1']:.3f} (chance: 0.167)"
        )
    return {"run": str(run_dir), "accuracy": test["accuracy"], "macro_f1": test["macro_f1"]}
