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
from medata.statistics import merge_summary

# Options shared by merge and dedupe, declared once.
ThresholdOption = Annotated[int, typer.Option(help="pHash Hamming distance for near duplicates.")]
LeaksOption = Annotated[
    LeakPolicy, typer.Option(help="Copies across train/test: drop the test copies, or move them.")
]
ConflictsOption = Annotated[
    ConflictPolicy, typer.Option(help="Same picture under two labels: quarantine or majority.")
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
    inputs = [
        {
            "input": d.ref.name,
            "source": d.source,
            "score": round(d.score, 3),
            "explicit": d.explicit,
            "files": d.files,
        }
        for d in result.inputs
    ]
    summary = merge_summary(result.manifest, str(out), inputs)
    if render:
        render_merge(Console(), summary)
    return summary
