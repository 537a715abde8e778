"""Pieces shared by commands: option enums and the merge call with its rendering."""

from __future__ import annotations

import contextlib
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from medata.dedupe.resolve import ConflictPolicy, LeakPolicy
from medata.pipeline import InputSpec, MergeOptions, merge
from medata.report.console import RichProgress, render_merge

# Options shared by merge and dedupe, declared once.
ThresholdOption = Annotated[int, typer.Option(help="pHash Hamming distance for near duplicates.")]
LeaksOption = Annotated[
    LeakPolicy, typer.Option(help="Copies across train/test: drop the test copies, or move them.")
]
ConflictsOption = Annotated[
    ConflictPolicy, typer.Option(help="Same picture under two labels: quarantine or majority.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Run the per-image work on Dask: local, tcp://host:8786 or a scheduler file "
        "(needs medata[dask])."
    ),
]


class LinkChoice(str, Enum):
    copy = "copy"
    hardlink = "hardlink"
    symlink = "symlink"


def run_merge(
    specs: list[InputSpec],
    out: Path,
    options: MergeOptions,
    console: Console,
    show_progress: bool,
    render: bool,
) -> dict[str, Any]:
    bar = RichProgress(console) if show_progress else None
    with bar if bar is not None else contextlib.nullcontext():
        result = merge(specs, out, options, progress=bar)
    summary = result.summary()
    if render:
        render_merge(Console(), summary)
    return summary
