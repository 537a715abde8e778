"""Label images with a saved baseline checkpoint.

A checkpoint is untrusted: it is loaded with ``weights_only=True`` (tensors and plain data, never
pickled objects), and its recipe is checked before use. Anything else is a one-line error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from medata.errors import UsageError
from medata.guard import Refused, check_regular, inside, read_file
from medata.inputs import IMAGE_EXTS, is_debris
from medata.train.data import to_array
from medata.train.loop import predict_proba, resolve_device
from medata.train.model import build_model


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model and recipe of a ``model.pt`` written by train-baseline; UsageError otherwise."""
    try:
        check_regular(path)
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Refused as exc:
        raise UsageError(f"cannot load checkpoint {path}: {exc.detail}") from None
    except Exception as exc:  # noqa: BLE001 - junk makes the restricted unpickler raise anything
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UsageError(
            f"{path} is not a medata checkpoint (only weights and plain data are loaded): "
            f"{type(exc).__name__}: {first[:200]}"
        ) from None
    recipe = _recipe(ckpt, path)
    try:
        model = build_model(len(recipe["classes"]), recipe["width"])
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"{path}: the weights do not fit the baseline model: {first[:200]}"
        ) from None
    return model, recipe


def _recipe(ckpt: object, path: Path) -> dict[str, Any]:
    """The plain-data part of a checkpoint, every field type-checked."""
    bad = UsageError(f"{path} is not a medata checkpoint: the recipe is missing or malformed")
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise bad
    classes, pre, width = ckpt.get("classes"), ckpt.get("preprocess"), ckpt.get("width", 16)
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise bad
    if not (isinstance(pre, dict) and isinstance(pre.get("size"), int) and 8 <= pre["size"] <= 512
            and all(isinstance(pre.get(k), (int, float)) for k in ("mean", "std"))):  # fmt: skip
        raise bad
    if not isinstance(width, int) or not 1 <= width <= 1024:
        raise bad
    return {"classes": classes, "preprocess": pre, "width": width}


def _images(target: Path) -> list[Path]:
    """Image files under ``target`` (or ``target`` itself), never leaving it through a link."""
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.suffix.lower() in IMAGE_EXTS
                      and not is_debris(p.name) and inside(target, p)
                      and not p.is_dir())  # fmt: skip
    if target.exists():
        return [target]
    raise UsageError(f"not found: {target}")


def predict(checkpoint: Path, target: Path, device: str = "cpu") -> pd.DataFrame:
    model, ckpt = load_checkpoint(checkpoint)
    dev = resolve_device(device)
    files = _images(target)
    arrays = [to_array(_read(p)) for p in files]
    good = [k for k, a in enumerate(arrays) if a is not None]
    pre = ckpt["preprocess"]
    stacked = [a for a in arrays if a is not None]
    x = np.stack(stacked) if stacked else np.zeros((0, pre["size"], pre["size"]), np.uint8)
    prob = predict_proba(model.to(dev), x.astype(np.uint8), pre["mean"], pre["std"], dev)
    classes = ckpt["classes"]
    rows = []
    for k, p in enumerate(files):
        if k in good:
            pr = prob[good.index(k)]
            rows.append({"image": str(p), "label": classes[int(pr.argmax())],
                         "confidence": round(float(pr.max()), 4)})  # fmt: skip
        else:
            rows.append({"image": str(p), "label": None, "confidence": None})
    return pd.DataFrame(rows, columns=["image", "label", "confidence"])


def _read(path: Path) -> bytes | None:
    try:
        return read_file(path)
    except Refused:
        return None
