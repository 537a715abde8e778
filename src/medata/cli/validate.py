"""``medata validate DIR``: exit 0 when no error, 1 when errors (or warnings with --strict)."""

from __future__ import annotations

import contextlib
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.checks.run import ValidateOptions, validate
from medata.cli.common import SchedulerOption
from medata.report.console import RichProgress, render_findings
from medata.report.formats import findings_json, github_annotations, write_table
from medata.review.options import parse_kinds


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def validate_command(
    directory: Annotated[Path, typer.Argument(help="The dataset folder (holds annotations.csv).")],
    output_format: Annotated[Format, typer.Option("--format", help="How to print findings.")] = (
        Format.text
    ),
    report: Annotated[
        Path | None, typer.Option(help="Write every finding to FILE.parquet or FILE.csv.")
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="Compare with a reference manifest (missing/extra/changed).")
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Decode every file, trust no cache.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first error.")
    ] = False,
    follow_links: Annotated[
        bool, typer.Option("--follow-links", help="Accept links out of DIR (merge --link symlink).")
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Decode processes.")] = None,
    max_file_mb: Annotated[
        float, typer.Option(help="Report a file over this many MiB as too_large, unread.")
    ] = 64.0,
    scheduler: SchedulerOption = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Fail on these review kinds too (comma-separated, e.g. "
            "blurry,label_issue; label_issue needs medata review --labels first)."
        ),  # fmt: skip
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the exit status.")] = False,
) -> None:
    """Check annotations.csv against the folders and the images; changes nothing."""
    kinds = parse_kinds(fail_on, "--fail-on") if fail_on else ()
    options = ValidateOptions(deep=deep, fail_fast=fail_fast, against=against,
                              follow_links=follow_links, workers=workers,
                              max_file_bytes=int(max_file_mb * 2**20),
                              scheduler=scheduler,
                              fail_on=kinds)  # fmt: skip
    show = output_format is Format.text and not quiet
    err = Console(stderr=True)
    bar = RichProgress(err) if show else None
    with bar if bar is not None else contextlib.nullcontext():
        result = validate(directory, options, progress=bar)
    if report is not None:
        write_table(result.findings, report)
    if output_format is Format.json:
        print(findings_json(result))
    elif output_format is Format.github:
        text = github_annotations(result)
        if text:
            print(text)
    elif not quiet:
        render_findings(Console(), result)
    failed = result.errors > 0 or (strict and result.warnings > 0)
    raise typer.Exit(1 if failed else 0)
