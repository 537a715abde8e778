"""A small CNN for 48x48 grey faces (~100k parameters): four conv blocks, global pooling."""

from __future__ import annotations

from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def build_model(n_classes: int, width: int = 16) -> nn.Module:
    w = width
    return nn.Sequential(
        _block(1, w), nn.MaxPool2d(2),
        _block(w, 2 * w), nn.MaxPool2d(2),
        _block(2 * w, 4 * w), nn.MaxPool2d(2),
        _block(4 * w, 8 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * w, n_classes),
    )  # fmt: skip
