"""``medata dedupe`` as one library call: find the groups of a dataset, draw them, write the group
table, and (with ``apply``) rewrite the dataset. The CLI parses, calls ``dedupe``, renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medata.dedupe.dataset import Plan, apply, image_loader, plan, query, summary
from medata.dedupe.resolve import DedupePolicy
from medata.errors import UsageError
from medata.manifest import load_target
from medata.progress import Progress


@dataclass(frozen=True)
class Pictures:
    """Contact sheets and their gallery: ``folder`` (None: ``<DIR>-duplicates`` beside the
    dataset), at most ``limit`` group sheets, members not in the dataset drawn from ``sources``."""

    folder: Path | None = None
    limit: int = 300
    sources: Sequence[Path] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise UsageError(f"--max-sheets must be 0 or more, got {self.limit}")


@dataclass
class DedupeResult:
    plan: Plan
    info: dict[str, Any]  # the summary the CLI prints (JSON-ready)


def sheets_folder(target: Path) -> Path:
    """``<DIR>-duplicates`` (or ``<manifest stem>-duplicates``) beside the dataset."""
    return target.parent / f"{target.stem if target.is_file() else target.name}-duplicates"


def dedupe(
    target: Path,
    policy: DedupePolicy,
    pictures: Pictures | None = None,
    report: Path | None = None,
    do_apply: bool = False,
    progress: Progress | None = None,
    scheduler: str | None = None,
) -> DedupeResult:
    """Group ``target`` (a dataset folder or a manifest) by ``policy``; draw the groups
    (``pictures``, None: no pictures); write the group table to ``report`` (.parquet or .csv);
    with ``do_apply``, rewrite the dataset. ``scheduler``: verify candidates on Dask."""
    from medata.report.formats import write_table

    t = load_target(target)
    p = plan(t, policy, progress, scheduler)
    info = summary(t, p)
    if pictures is not None:
        from medata.report.sheets import write_gallery, write_sheets

        folder = pictures.folder or sheets_folder(target)
        loader = image_loader(t.root, list(pictures.sources))
        written = write_sheets(p.manifest, p.groups.member, p.groups.table, folder, loader,
                               pictures.limit)  # fmt: skip
        info["gallery"] = str(write_gallery(folder, written, p.groups.table, info["groups"]))
    if report is not None:
        write_table(p.groups.table, report)
    if do_apply:
        info["kept_unlisted"] = apply(t, p, policy)
        info["applied"] = True
    return DedupeResult(p, info)


def look_up(images: Sequence[Path], against: Path | None, threshold: int) -> pd.DataFrame:
    """``dedupe --query``: rows of ``against`` (a manifest or dataset) with the same bytes as each
    image or a pHash within ``threshold``."""
    if against is None:
        raise UsageError("--query needs --against MANIFEST (or a dataset folder)")
    return query(list(images), load_target(against).manifest, threshold)
