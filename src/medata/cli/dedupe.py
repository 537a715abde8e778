"""``medata dedupe DIR_OR_MANIFEST``: duplicate groups with pictures; ``--apply`` resolves them."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.cli.common import ConflictsOption, LeaksOption, SchedulerOption, ThresholdOption
from medata.dedupe.groups import DEFAULT_THRESHOLD
from medata.dedupe.resolve import ConflictPolicy, DedupePolicy, LeakPolicy
from medata.errors import UsageError
from medata.report.console import RichProgress, render_dedupe, render_query


def dedupe_command(
    target: Annotated[
        Path | None, typer.Argument(help="A merged dataset folder or a manifest.parquet.")
    ] = None,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    leaks: LeaksOption = LeakPolicy.DROP_TEST,
    conflicts: ConflictsOption = ConflictPolicy.QUARANTINE,
    do_apply: Annotated[
        bool, typer.Option("--apply", help="Rewrite the dataset with the decisions.")
    ] = False,
    sheets: Annotated[
        Path | None,
        typer.Option(
            help="Folder for contact sheets + index.html (default: "
            "<DIR>-duplicates beside the dataset)."
        ),
    ] = None,
    no_sheets: Annotated[bool, typer.Option("--no-sheets", help="Skip the pictures.")] = False,
    max_sheets: Annotated[int, typer.Option(help="At most this many group sheets.")] = 300,
    source: Annotated[
        list[Path] | None, typer.Option(help="Original inputs, to draw members not in DIR.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the group table to FILE.parquet or FILE.csv.")
    ] = None,
    query_images: Annotated[
        list[Path] | None, typer.Option("--query", help="Images to look up (with --against).")
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="Manifest to look --query images up in.")
    ] = None,
    scheduler: SchedulerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Find exact and near duplicates, leaks across splits and label conflicts."""
    from medata.dedupe.run import Pictures, dedupe, look_up

    policy = DedupePolicy(threshold, leaks, conflicts)  # refuses a nonsensical threshold
    pictures = None if no_sheets else Pictures(sheets, max_sheets, tuple(source or ()))
    if query_images:
        hits = look_up(query_images, against or target, threshold)
        if as_json:
            records = hits.astype(object).where(hits.notna(), None).to_dict(orient="records")
            print(json.dumps(records, indent=2))
        else:
            render_query(Console(), hits)
        return
    if target is None:
        raise UsageError(
            "give a dataset folder or a manifest (or --query IMAGE --against MANIFEST)"
        )
    bar = RichProgress(Console(stderr=True)) if not (quiet or as_json) else None
    with bar if bar is not None else contextlib.nullcontext():
        result = dedupe(target, policy, pictures, report, do_apply, bar, scheduler)
    if as_json:
        print(json.dumps(result.info, indent=2, sort_keys=True))
    elif not quiet:
        render_dedupe(Console(), result.info, result.plan.groups.table, applied=do_apply)
