"""``medata demo`` as one library call: prepare the folder, generate the three sources, merge
them, train a quick baseline. The CLI renders what ``demo`` returns."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medata.errors import OutputError, UsageError
from medata.progress import Progress

MARKER = ".medata-demo"


def prepare_folder(directory: Path, replace: bool) -> None:
    """An empty ``directory`` with the demo's marker. A non-empty one is deleted only with
    ``replace``: a marker file proves nothing (anyone can leave one in a folder of other work)."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()):
        if not replace:
            raise OutputError(f"{directory} is not empty (use --replace to delete it and start "
                              "again)")  # fmt: skip
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by medata demo; safe to delete\n")


def quick_baseline(dataset: Path, run_dir: Path) -> dict[str, Any]:
    """A --quick reference model on the merged demo: ``{"run", "accuracy", "macro_f1"}``, or
    ``{"skipped": reason}`` without PyTorch or with too few images."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return {"skipped": "pip install 'medata[train]' to train one."}
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    try:
        result = train(load_rows(dataset), run_dir, TrainConfig(quick=True))
    except UsageError as exc:  # too few generated images (a tiny --per-class)
        return {"skipped": str(exc)}
    test = result.metrics["test"]
    return {"run": str(run_dir), "accuracy": test["accuracy"], "macro_f1": test["macro_f1"]}


@dataclass
class DemoResult:
    sources: list[Path]  # the generated inputs, one per layout
    merged: Path
    summary: dict[str, Any]  # the merge's summary (``MergeResult.summary``) and its baseline
    baseline: dict[str, Any]  # ``quick_baseline``'s answer


def demo(
    directory: Path,
    per_class: int = 30,
    seed: int = 0,
    replace: bool = False,
    progress: Progress | None = None,
    on_sources: Callable[[list[Path]], None] | None = None,
) -> DemoResult:
    """Generate ``per_class`` images per class and source under ``directory/sources``, merge
    them into ``directory/merged`` and train a quick baseline (when PyTorch is installed).
    ``on_sources(paths)`` once the sources exist, before the merge."""
    from medata.demo.synth import make_sources
    from medata.pipeline import InputSpec, MergeOptions, merge

    if per_class < 1:
        raise UsageError(f"--per-class must be 1 or more, got {per_class}")
    prepare_folder(directory, replace)
    sources = make_sources(directory / "sources", n=per_class, seed=seed)
    if on_sources is not None:
        on_sources(list(sources.paths))
    out = directory / "merged"
    result = merge([InputSpec(p) for p in sources.paths], out, MergeOptions(), progress)
    summary = result.summary()
    baseline = quick_baseline(out, directory / "baseline")
    summary["baseline"] = None if "skipped" in baseline else baseline
    return DemoResult(list(sources.paths), out, summary, baseline)
