"""Label images with a saved baseline checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medata.errors import UsageError
from medata.inputs import IMAGE_EXTS, is_debris
from medata.train.data import to_array
from medata.train.loop import _predict
from medata.train.model import build_model


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, dict]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise UsageError(f"cannot load checkpoint {path}: {exc}") from exc
    model = build_model(len(ckpt["classes"]), ckpt.get("width", 16))
    model.load_state_dict(ckpt["state_dict"])
    return model, ckpt


def predict(checkpoint: Path, target: Path) -> pd.DataFrame:
    model, ckpt = load_checkpoint(checkpoint)
    if target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file()
                       and p.suffix.lower() in IMAGE_EXTS and not is_debris(p.name))  # fmt: skip
    elif target.is_file():
        files = [target]
    else:
        raise UsageError(f"not found: {target}")
    arrays = [to_array(p.read_bytes()) for p in files]
    good = [k for k, a in enumerate(arrays) if a is not None]
    pre = ckpt["preprocess"]
    stacked = [a for a in arrays if a is not None]
    x = np.stack(stacked) if stacked else np.zeros((0, pre["size"], pre["size"]), np.uint8)
    prob = _predict(model, x.astype(np.uint8), pre["mean"], pre["std"], torch.device("cpu"))
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
