"""The public Python API: each command of the CLI as one function (``import medata``).

import medata
result = medata.merge(["micro-expressions.zip"], "out")
report = medata.validate("out")
numbers = medata.stats("out")
plan = medata.find_duplicates("out")            # a dry run; apply=True rewrites the folder
run = medata.train_baseline("out", "runs/a")    # needs medata[train]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medata.checks.run import ValidateOptions, ValidationResult
from medata.dedupe.dataset import Plan
from medata.dedupe.resolve import DedupePolicy
from medata.pipeline import InputSpec, MergeOptions, MergeResult
from medata.progress import Progress

if TYPE_CHECKING:
    from medata.train.loop import RunResult, TrainConfig

PathLike = str | Path


def merge(
    inputs: Sequence[PathLike | InputSpec],
    out: PathLike,
    options: MergeOptions | None = None,
    progress: Progress | None = None,
) -> MergeResult:
    """Merge folders or zips (paths, or ``InputSpec`` to name a source) into ``out``; the result
    holds the manifest (one row per input file, with its fate)."""
    from medata.pipeline import merge as run

    specs = [i if isinstance(i, InputSpec) else InputSpec(Path(i)) for i in inputs]
    return run(specs, Path(out), options, progress)


def validate(
    root: PathLike, options: ValidateOptions | None = None, progress: Progress | None = None
) -> ValidationResult:
    """Check a merged dataset folder: its findings (code, severity, path, detail) and counts."""
    from medata.checks.run import validate as run

    return run(Path(root), options, progress)


def stats(
    target: PathLike, html: PathLike | None = None, sources: Sequence[PathLike] = ()
) -> dict[str, Any]:
    """Class balance, composition, image sizes, fates and duplicates of a dataset folder or a
    manifest file (what ``medata stats --json`` prints). ``html``: also write the report page
    there (thumbnails of removed files drawn from ``sources``, the original inputs)."""
    from medata.manifest import load_target
    from medata.statistics import compute

    path = Path(target)
    t = load_target(path)
    numbers = compute(t.manifest)
    if html is not None:
        from medata.dedupe.dataset import image_loader
        from medata.report.html import render

        loader = image_loader(t.root, [Path(s) for s in sources])
        section = None
        if t.root is not None:
            from medata.report.html import review_section
            from medata.review.run import read_review

            found = read_review(t.root)
            if found is not None:
                section = review_section(found[0], found[1], "review.parquet", t.manifest, loader)
        page = render(numbers, t.manifest, loader, f"medata report: {path.name}", review=section)
        Path(html).write_text(page, encoding="utf-8")
    return numbers


def find_duplicates(
    target: PathLike,
    policy: DedupePolicy | None = None,
    apply: bool = False,
    progress: Progress | None = None,
    scheduler: str | None = None,
) -> Plan:
    """Duplicate groups, leaks and label conflicts of a dataset folder or manifest, resolved by
    ``policy``; the plan holds the manifest as it would be. ``apply``: rewrite the folder so.
    ``scheduler``: verify near candidates on Dask (``local``, ``tcp://...``, a scheduler file)."""
    from medata.dedupe.run import dedupe

    result = dedupe(Path(target), policy or DedupePolicy(), None, None, apply, progress, scheduler)
    return result.plan


def train_baseline(
    target: PathLike,
    out: PathLike,
    config: TrainConfig | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    sources: Sequence[PathLike] = (),
) -> RunResult:
    """Train the reference model on a merged dataset (needs ``medata[train]``). ``on_epoch``
    gets each epoch's numbers; ``sources`` (the original inputs) let the leak slice be scored
    on files the merge removed."""
    from medata.train import require_torch

    require_torch()
    from medata.dedupe.dataset import image_loader
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    rows = load_rows(Path(target))
    loader = None
    if rows.manifest is not None:
        loader = image_loader(rows.root, [Path(s) for s in sources])
    return train(rows, Path(out), config or TrainConfig(), on_epoch, loader)
