"""``medata merge INPUT... --out DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.cli.common import (
    ConflictsOption,
    LeaksOption,
    LinkChoice,
    SchedulerOption,
    ThresholdOption,
    run_merge,
)
from medata.dedupe.groups import DEFAULT_THRESHOLD
from medata.dedupe.resolve import ConflictPolicy, DedupePolicy, LeakPolicy
from medata.guard import MAX_FILE_BYTES
from medata.labels import LabelMap
from medata.pipeline import InputSpec, MergeOptions, Resplit


def merge_command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Source folders or zips; prefix KIND= to name the source "
            "(kmirfan, ziya07, kori, generic).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output dataset folder.")],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", help='TOML file with a [labels] table: folder name = class or "exclude".'
        ),
    ] = None,
    resplit: Annotated[
        bool,
        typer.Option(
            "--resplit", help="Re-split train/test: seeded, stratified, CK+ subjects kept together."
        ),
    ] = False,
    test_size: Annotated[float, typer.Option(help="Test share with --resplit.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for --resplit.")] = 0,
    link: Annotated[
        LinkChoice, typer.Option(help="How to place files from folders.")
    ] = LinkChoice.copy,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a non-empty output folder.")
    ] = False,
    dedupe: Annotated[
        bool, typer.Option("--dedupe/--no-dedupe", help="Find and resolve duplicates.")
    ] = True,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    leaks: LeaksOption = LeakPolicy.DROP_TEST,
    conflicts: ConflictsOption = ConflictPolicy.QUARANTINE,
    resume: Annotated[
        bool,
        typer.Option("--resume/--no-resume", help="Reuse probe results of an interrupted run."),
    ] = True,
    workers: Annotated[
        int | None, typer.Option(help="Probe processes (default: all cores).")
    ] = None,
    max_file_mb: Annotated[
        float, typer.Option(help="Refuse any file or zip member over this many MiB (as read).")
    ] = MAX_FILE_BYTES / 2**20,
    scheduler: SchedulerOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ingest the sources into one train/test layout with annotations.csv and manifest.parquet."""
    options = MergeOptions(
        labels=LabelMap.from_toml(mapping) if mapping else LabelMap(),
        resplit=Resplit(test_size, seed) if resplit else None,
        link=link.value,
        dedupe=DedupePolicy(threshold, leaks, conflicts) if dedupe else None,
        resume=resume,
        replace=replace,
        workers=workers,
        max_file_bytes=int(max_file_mb * 2**20),
        scheduler=scheduler,
    )
    specs = [InputSpec.parse(text) for text in inputs]
    summary = run_merge(
        specs,
        out,
        options,
        Console(stderr=True),
        show_progress=not (quiet or as_json),
        render=not (quiet or as_json),
    )
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
