"""Train the baseline: seeded split, augmentation, weighted loss, early stopping on validation
macro-F1, one final test evaluation, a leak slice, and a run folder with everything."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from medata import __version__
from medata.errors import UsageError
from medata.guard import Refused, read_inside
from medata.output import write_csv
from medata.records import CLASSES, Status
from medata.train.data import SIZE, Rows, check_trainable, decode_all, stratified_split
from medata.train.metrics import report
from medata.train.model import build_model


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.15
    patience: int = 8
    # A budget of optimiser steps: on ~40,000 images (~200 steps an epoch) the default run stops
    # after 20 epochs, about 13 minutes on 2 CPU cores; small datasets get all their epochs.
    max_steps: int = 4000
    width: int = 16
    quick: bool = False  # a tiny run for the demo and tests
    device: str = "auto"


@dataclass
class RunResult:
    out: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


Progress = Callable[[dict[str, float]], None]


def resolve_device(name: str) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; a one-line UsageError for anything else or for
    CUDA on a machine without it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UsageError(f"unknown device {name[:40]!r}: use auto, cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {name[:40]!r}: use auto, cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here (use auto or cpu)")
    return device


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, rotation of up to 10 degrees, shift of up to 4 px, scale 0.9-1.1."""
    n = x.shape[0]
    u = torch.rand((n, 4), generator=gen, device="cpu").to(x.device)
    angle = (u[:, 0] * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * u[:, 1]
    shift = (u[:, 2:4] * 2 - 1) * (4 / (SIZE / 2))
    flip = torch.where(torch.rand(n, generator=gen).to(x.device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)  # fmt: skip
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def predict_proba(model: torch.nn.Module, x: np.ndarray, mean: float, std: float,
             device: torch.device, batch: int = 512) -> np.ndarray:  # fmt: skip
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch]).float().unsqueeze(1).to(device)
            out.append(model((xb / 255.0 - mean) / std).softmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)))


def train(rows: Rows, out: Path, config: TrainConfig, progress: Progress | None = None,
          loader: Callable[[pd.Series], bytes | None] | None = None) -> RunResult:  # fmt: skip
    """Train on ``rows`` and write the run folder ``out``."""
    check_trainable(rows.frame)
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    device = resolve_device(config.device)
    frame = rows.frame
    classes = list(CLASSES)
    index = {c: k for k, c in enumerate(classes)}

    def from_disk(rel: str) -> Callable[[], bytes | None]:
        return lambda: _read(rows.root, rel)

    images, ok = decode_all([from_disk(p) for p in frame["path"]])
    frame = frame[ok].reset_index(drop=True)
    y = frame["label"].map(index).to_numpy(dtype=np.int64)
    is_train = (frame["split"] == "train").to_numpy()
    x_all, y_all = images[is_train], y[is_train]
    x_test, y_test = images[~is_train], y[~is_train]
    if config.quick:
        x_all, y_all = _cap(x_all, y_all, 150, config.seed)
    tr, va = stratified_split(y_all, config.val_fraction, config.seed)
    x_tr, y_tr, x_va, y_va = x_all[tr], y_all[tr], x_all[va], y_all[va]
    fitted = fit(x_tr, y_tr, x_va, y_va, config, device, progress)
    model, mean, std, history, best = (fitted.model, fitted.mean, fitted.std, fitted.history,
                                       fitted.best_macro_f1)  # fmt: skip
    prob = predict_proba(model, x_test, mean, std, device)
    metrics: dict[str, Any] = {"test": report(y_test, prob.argmax(1), classes)}
    metrics["validation_best_macro_f1"] = best
    metrics["train_images"], metrics["validation_images"] = len(x_tr), len(x_va)
    metrics["skipped_unreadable"] = int((~ok).sum())
    test_rows = frame[~is_train]
    predictions = pd.DataFrame({
        "path": test_rows["path"].to_numpy(), "true": [classes[k] for k in y_test],
        "pred": [classes[k] for k in prob.argmax(1)], "slice": "test",
    })  # fmt: skip
    leak = _leak_slice(rows, loader, model, mean, std, device, classes)
    if leak is not None:
        metrics["leak_slice"], leak_pred = leak
        predictions = pd.concat([predictions, leak_pred], ignore_index=True)
    preprocess = {"size": SIZE, "mode": "L", "resample": "bilinear", "mean": mean, "std": std}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "classes": classes,
            "preprocess": preprocess,
            "width": config.width,
            "manifest_sha256": rows.source_sha256,
            "config": asdict(config),
            "medata_version": __version__,
        },
        out / "model.pt",
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    write_csv(predictions, out / "predictions.csv")
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    from medata.report.plots import confusion_png, curve_png

    confusion_png(metrics["test"]["confusion"], classes, out / "confusion.png")
    curve_png(history, out / "curve.png")
    return RunResult(out, metrics, history)


@dataclass
class Fitted:
    model: torch.nn.Module
    mean: float  # input normalisation (of x / 255)
    std: float
    history: list[dict[str, Any]]
    best_macro_f1: float


def fit(x_tr: np.ndarray, y_tr: np.ndarray, x_va: np.ndarray, y_va: np.ndarray,
        config: TrainConfig, device: torch.device,
        progress: Progress | None = None) -> Fitted:  # fmt: skip
    """Train the reference CNN on (x_tr, y_tr), keeping the epoch with the best validation
    macro-F1 on (x_va, y_va); seeded by ``config.seed`` (deterministic on CPU)."""
    torch.manual_seed(config.seed)
    classes = list(CLASSES)
    mean, std = float(x_tr.mean() / 255.0), float(x_tr.std() / 255.0) or 1.0
    counts = np.bincount(y_tr, minlength=len(classes)).astype(float)
    weights = torch.tensor(
        counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32
    )

    model = build_model(len(classes), config.width).to(device)
    steps = max(1, math.ceil(len(x_tr) / config.batch_size))
    epochs = min(15, config.epochs) if config.quick else config.epochs
    epochs = max(1, min(epochs, config.max_steps // steps))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, epochs=epochs,
                                                steps_per_epoch=steps)  # fmt: skip
    gen = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x_tr_t = torch.from_numpy(x_tr).float().unsqueeze(1)
    y_tr_t = torch.from_numpy(y_tr)
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, Any] | None] = (-1.0, None)
    stale = 0
    for epoch in range(1, epochs + 1):
        model.train()
        t0, total = time.perf_counter(), 0.0
        order = rng.permutation(len(x_tr))
        for s in range(steps):
            idx = torch.from_numpy(order[s * config.batch_size : (s + 1) * config.batch_size])
            xb = _augment((x_tr_t[idx] / 255.0 - mean) / std, gen).to(device)
            loss = F.cross_entropy(model(xb), y_tr_t[idx].to(device), weight=weights.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        pred = predict_proba(model, x_va, mean, std, device).argmax(1)
        val = report(y_va.tolist(), pred.tolist(), classes)
        entry = {"epoch": epoch, "loss": total / len(x_tr), "val_accuracy": val["accuracy"],
                 "val_macro_f1": val["macro_f1"], "seconds": time.perf_counter() - t0}  # fmt: skip
        history.append(entry)
        if progress is not None:
            progress(entry)
        if val["macro_f1"] > best[0]:
            best = (val["macro_f1"], {k: v.clone() for k, v in model.state_dict().items()})
            stale = 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best[1] is not None:
        model.load_state_dict(best[1])
    return Fitted(model, mean, std, history, best[0])


def _read(root: Path, rel: object) -> bytes | None:
    """A row's bytes through the one guard: never outside the dataset, never a special file."""
    if not isinstance(rel, str):
        return None
    try:
        return read_inside(root, rel)
    except Refused:
        return None


def _cap(x: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
    )
    keep.sort()
    return x[keep], y[keep]


def _leak_slice(rows: Rows, loader: Callable[[pd.Series], bytes | None] | None,
                model: torch.nn.Module, mean: float, std: float, device: torch.device,
                classes: list[str]) -> tuple[dict[str, Any], pd.DataFrame] | None:  # fmt: skip
    """Test files removed as leaks (their twin is in train), scored apart from the clean test."""
    if rows.manifest is None or loader is None:
        return None
    leaks = rows.manifest[rows.manifest["status"] == Status.LEAK.value]
    if leaks.empty:
        return None
    images, ok = decode_all([partial(loader, r) for _, r in leaks.iterrows()])
    if not ok.any():
        return None
    found = leaks[ok]
    y = found["label"].map({c: k for k, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    pred = predict_proba(model, images, mean, std, device).argmax(1)
    result = report(y, pred, classes)
    result["not_found"] = int((~ok).sum())
    frame = pd.DataFrame({"path": (found["input"] + ":" + found["source_path"]).to_numpy(),
                          "true": found["label"].to_numpy(),
                          "pred": [classes[k] for k in pred], "slice": "leak"})  # fmt: skip
    return result, frame
