"""Rows to train on, read from a dataset's manifest (or annotations.csv), decoded once into a
uint8 array of 48x48 grey images."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from medata.errors import UsageError
from medata.guard import MAX_TABLE_BYTES, Refused, read_file
from medata.output import read_csv
from medata.probe import open_image
from medata.records import CLASSES, Status

SIZE = 48


@dataclass
class Rows:
    frame: pd.DataFrame  # path, label, split (kept rows), plus status for the leak slice
    manifest: pd.DataFrame | None
    root: Path
    source_sha256: str  # sha256 of the manifest (or CSV) file trained on


def load_rows(target: Path) -> Rows:
    """Kept rows of a dataset folder (manifest.parquet, else annotations.csv) or a manifest.

    Both tables are read through the guard (a FIFO named manifest.parquet never blocks)."""
    from medata.manifest import read_manifest

    manifest_path = target / "manifest.parquet" if target.is_dir() else target
    root = target if target.is_dir() else target.parent
    if manifest_path.exists():
        manifest, _ = read_manifest(manifest_path)
        kept = manifest[manifest["status"] == Status.KEPT.value]
        frame = pd.DataFrame({"path": kept["path"], "label": kept["label"], "split": kept["split"]})
        data = _read_table(manifest_path)
    elif (root / "annotations.csv").exists():
        manifest = None
        data = _read_table(root / "annotations.csv")
        try:
            ann = read_csv(io.StringIO(data.decode("utf-8-sig")))
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise UsageError(f"cannot read {root / 'annotations.csv'}: {exc}") from None
        missing = [c for c in ("file_name", "label", "split") if c not in ann.columns]
        if missing:
            raise UsageError(f"{root / 'annotations.csv'} lacks the column(s) {', '.join(missing)}")
        frame = pd.DataFrame(
            {"path": ann["file_name"], "label": ann["label"], "split": ann["split"]}
        )
    else:
        raise UsageError(f"{target} holds neither manifest.parquet nor annotations.csv")
    digest = hashlib.sha256(data).hexdigest()
    return Rows(frame.reset_index(drop=True), manifest, root, digest)


def _read_table(path: Path) -> bytes:
    try:
        return read_file(path, MAX_TABLE_BYTES)
    except Refused as exc:
        raise UsageError(f"cannot read {path}: {exc.detail}") from None


def check_trainable(frame: pd.DataFrame) -> None:
    """A clear message instead of a useless model: both splits, every class in train."""
    for split in ("train", "test"):
        if not (frame["split"] == split).any():
            raise UsageError(
                f"the {split} split is empty: nothing to {'learn' if split == 'train' else 'score'}"
            )
    train = frame[frame["split"] == "train"]
    missing = [c for c in CLASSES if not (train["label"] == c).any()]
    if missing:
        raise UsageError(f"no training images for {', '.join(missing)}: every class needs some")


def to_array(data: bytes | None) -> np.ndarray | None:
    """One decode: grey, 48x48 (bilinear with antialiasing), uint8."""
    if data is None:
        return None
    try:
        with open_image(data) as im:
            small = im.convert("L").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    except Exception:  # noqa: BLE001 - an unreadable file is skipped and counted by the caller
        return None
    return np.asarray(small, dtype=np.uint8)


def decode_all(loads: list[Callable[[], bytes | None]]) -> tuple[np.ndarray, np.ndarray]:
    """Stacked images and a mask of which decoded."""
    arrays = [to_array(load()) for load in loads]
    ok = np.array([a is not None for a in arrays], dtype=bool)
    stack = np.stack([a for a in arrays if a is not None]) if ok.any() else np.zeros(
        (0, SIZE, SIZE), np.uint8)  # fmt: skip
    return stack, ok


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): ``fraction`` of each class to validation, seeded."""
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx))) if len(idx) > 1 else 0
        val.extend(idx[:k].tolist())
    val_idx = np.array(sorted(val), dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx
