"""The public Python API: each command of the CLI as one function (``import medata``).

import medata
result = medata.merge(["micro-expressions.zip"], "out")
report = medata.validate("out")
numbers = medata.stats("out")
plan = medata.find_duplicates("out")            # a dry run; apply=True rewrites the folder
run = medata.train_baseline("out", "runs/a")    # needs medata[train]
"""

from __future__ import annotations

from collections.abc import Sequence
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


def stats(target: PathLike) -> dict[str, Any]:
    """Class balance, composition, image sizes, fates and duplicates of a dataset folder or a
    manifest file (what ``medata stats --json`` prints)."""
    from medata.manifest import load_target
    from medata.statistics import compute

    return compute(load_target(Path(target)).manifest)


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


def train_baseline(target: PathLike, out: PathLike, config: TrainConfig | None = None) -> RunResult:
    """Train the reference model on a merged dataset (needs ``medata[train]``)."""
    from medata.train import require_torch

    require_torch()
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    return train(load_rows(Path(target)), Path(out), config or TrainConfig())
