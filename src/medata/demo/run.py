"""The steps of ``medata demo``, without rendering: prepare the folder, train a quick baseline."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from medata.errors import OutputError, UsageError

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
