"""``medata train-baseline DIR`` and ``medata predict CHECKPOINT IMAGE_OR_DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medata.train import require_torch


def train_command(
    dataset: Annotated[Path, typer.Argument(help="A merged dataset folder (or its manifest).")],
    out: Annotated[Path | None, typer.Option(help="Run folder (default: <DIR>-baseline).")] = None,
    epochs: Annotated[int, typer.Option(help="At most this many epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 128,
    max_steps: Annotated[
        int, typer.Option(help="Budget of optimiser steps (caps epochs on large datasets).")
    ] = 4000,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same metrics on CPU.")] = 0,
    quick: Annotated[bool, typer.Option("--quick", help="A tiny run (demo, tests).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    source: Annotated[
        list[Path] | None, typer.Option(help="Original inputs, to score the leak slice.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Train the bundled reference CNN on the kept images and score it once on test."""
    require_torch()
    from medata.api import train_baseline
    from medata.report.console import render_training
    from medata.train.loop import TrainConfig

    run_dir = out or dataset.parent / f"{dataset.name}-baseline"
    console = Console(stderr=True)
    show = None if (quiet or as_json) else (
        lambda e: console.print(f"epoch {e['epoch']:3d}  loss {e['loss']:.3f}  "
                                f"val acc {e['val_accuracy']:.3f}  val macro-F1 "
                                f"{e['val_macro_f1']:.3f}  ({e['seconds']:.1f} s)"))  # fmt: skip
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, quick=quick,
                         device=device, max_steps=max_steps)  # fmt: skip
    result = train_baseline(dataset, run_dir, config, show, source or [])
    if as_json:
        print(json.dumps(result.metrics, indent=2, sort_keys=True))
    elif not quiet:
        render_training(Console(), result.metrics, run_dir)


def predict_command(
    checkpoint: Annotated[Path, typer.Argument(help="model.pt from train-baseline.")],
    images: Annotated[Path, typer.Argument(help="An image or a folder of images.")],
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Label new images with a trained baseline."""
    require_torch()
    from medata.report.console import render_predictions
    from medata.train.predict import predict

    table = predict(checkpoint, images, device)
    if as_json:
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        render_predictions(Console(), table)
