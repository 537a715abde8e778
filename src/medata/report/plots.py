"""Plots as PNG, drawn with Pillow: a confusion matrix and a training curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def confusion_png(matrix: list[list[int]], classes: list[str], path: Path) -> None:
    n, cell, left, top = len(classes), 56, 90, 40
    im = Image.new("RGB", (left + n * cell + 10, top + n * cell + 30), "white")
    d = ImageDraw.Draw(im)
    d.text((left, 8), "true (rows) x predicted (columns)", fill="black")
    for i, row in enumerate(matrix):
        total = max(1, sum(row))
        d.text((6, top + i * cell + cell // 2 - 6), classes[i], fill="black")
        for j, v in enumerate(row):
            share = v / total
            shade = int(255 - 200 * share)
            x, y = left + j * cell, top + i * cell
            d.rectangle([x, y, x + cell - 2, y + cell - 2], fill=(shade, shade, 255))
            d.text((x + 8, y + cell // 2 - 6), str(v), fill="black" if share < 0.6 else "white")
    for j, c in enumerate(classes):
        d.text((left + j * cell + 2, top + n * cell + 6), c[:8], fill="black")
    im.save(path)


def curve_png(history: list[dict[str, Any]], path: Path) -> None:
    w, h, pad = 520, 300, 40
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([pad, pad, w - pad, h - pad], outline="grey")
    if history:
        n = max(2, len(history))
        peak = max(e["loss"] for e in history) or 1.0

        def xy(k: int, v: float) -> tuple[float, float]:
            return pad + (w - 2 * pad) * k / (n - 1), h - pad - (h - 2 * pad) * v

        series = [
            ("loss (scaled)", [e["loss"] / peak for e in history], (200, 60, 60)),
            ("val accuracy", [e["val_accuracy"] for e in history], (60, 60, 200)),
            ("val macro-F1", [e["val_macro_f1"] for e in history], (40, 150, 40)),
        ]
        for k, (name, values, colour) in enumerate(series):
            pts = [xy(i, v) for i, v in enumerate(values)]
            if len(pts) > 1:
                d.line(pts, fill=colour, width=2)
            d.text((pad + 5 + 150 * k, 12), name, fill=colour)
    d.text((pad, h - pad + 8), "epoch", fill="black")
    im.save(path)
