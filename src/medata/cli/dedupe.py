"""``medata dedupe DIR_OR_MANIFEST``: duplicate groups with pictures; ``--apply`` resolves them."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.cli.common import ConflictsOption, LeaksOption, ThresholdOption
from medata.dedupe.groups import DEFAULT_THRESHOLD
from medata.dedupe.resolve import ConflictPolicy, DedupePolicy, LeakPolicy
from medata.errors import UsageError
from medata.report.console import RichProgress, render_dedupe, render_query
from medata.report.formats import write_table


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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Find exact and near duplicates, leaks across splits and label conflicts."""
    policy = DedupePolicy(threshold, leaks, conflicts)  # refuses a nonsensical threshold
    if max_sheets < 0:
        raise UsageError(f"--max-sheets must be 0 or more, got {max_sheets}")
    from medata.dedupe.dataset import apply, image_loader, plan, summary
    from medata.manifest import load_target

    if query_images:
        _query(query_images, against or target, threshold, as_json)
        return
    if target is None:
        raise UsageError(
            "give a dataset folder or a manifest (or --query IMAGE --against MANIFEST)"
        )
    t = load_target(target)
    bar = RichProgress(Console(stderr=True)) if not (quiet or as_json) else None
    with bar if bar is not None else contextlib.nullcontext():
        p = plan(t, policy, bar)
    info = summary(t, p)
    if not no_sheets:
        from medata.report.sheets import write_gallery, write_sheets

        folder = (
            sheets
            or target.parent / f"{target.stem if target.is_file() else target.name}-duplicates"
        )
        loader = image_loader(t.root, source or [])
        written = write_sheets(
            p.manifest, p.groups.member, p.groups.table, folder, loader, max_sheets
        )
        info["gallery"] = str(write_gallery(folder, written, p.groups.table, info["groups"]))
    if report is not None:
        write_table(p.groups.table, report)
    if do_apply:
        info["kept_unlisted"] = apply(t, p, policy)
        info["applied"] = True
    if as_json:
        print(json.dumps(info, indent=2, sort_keys=True))
    elif not quiet:
        render_dedupe(Console(), info, p.groups.table, applied=do_apply)


def _query(images: list[Path], against: Path | None, threshold: int, as_json: bool) -> None:
    from medata.dedupe.dataset import query
    from medata.manifest import load_target

    if against is None:
        raise UsageError("--query needs --against MANIFEST (or a dataset folder)")
    hits = query(images, load_target(against).manifest, threshold)
    if as_json:
        print(json.dumps(hits.astype(object).where(hits.notna(), None).to_dict(orient="records"),
                         indent=2))  # fmt: skip
    else:
        render_query(Console(), hits)
