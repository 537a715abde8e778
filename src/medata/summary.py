"""Plain tables summarising a merge: pure functions over the manifest, no rendering."""

from __future__ import annotations

from typing import Any

import pandas as pd

from medata.records import CLASSES, SPLITS, Status


def fate_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Rows: source x class (canonical, or the source folder if not kept) -> counts by status."""
    df = manifest.assign(
        cls=manifest["label"].fillna(manifest["source_label"]).fillna("(none)").astype(str)
    )
    table = (
        df.groupby(["source", "cls", "status"], dropna=False).size().unstack("status", fill_value=0)
    )
    for s in Status:
        if s.value not in table.columns:
            table[s.value] = 0
    table = table[[s.value for s in Status]].reset_index().rename(columns={"cls": "class"})
    return table.sort_values(["source", "class"], kind="stable").reset_index(drop=True)


def split_class_counts(manifest: pd.DataFrame) -> dict[str, dict[str, int]]:
    kept = manifest[manifest["status"] == Status.KEPT.value]
    return {
        split: {c: int(((kept["split"] == split) & (kept["label"] == c)).sum()) for c in CLASSES}
        for split in SPLITS
    }


def split_warnings(counts: dict[str, dict[str, int]], min_share: float = 0.10) -> list[str]:
    """What a researcher must know before training: a class empty in a split, a split holding
    under ``min_share`` of the kept images."""
    warnings = []
    total = sum(sum(c.values()) for c in counts.values())
    for split in SPLITS:
        n = sum(counts[split].values())
        if total and n < min_share * total:
            warnings.append(f"the {split} split holds {n} of {total} kept images "
                            f"({n / total:.1%}, under {min_share:.0%})")  # fmt: skip
        empty = [c for c in CLASSES if counts[split][c] == 0]
        if empty:
            warnings.append(f"no {split} images for {', '.join(empty)} (the folder is empty)")
    return warnings


def merge_summary(manifest: pd.DataFrame, out: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the CLI prints, as JSON-ready plain data."""
    status = manifest["status"].value_counts()
    reasons = manifest.loc[manifest["status"] != Status.KEPT.value, "reason"].value_counts()
    return {
        "out": out,
        "inputs": inputs,
        "files": int(len(manifest)),
        "status": {s.value: int(status.get(s.value, 0)) for s in Status},
        "reasons": {str(k): int(v) for k, v in sorted(reasons.items())},
        "kept": split_class_counts(manifest),
        "warnings": split_warnings(split_class_counts(manifest)),
        "by_source": fate_table(manifest).to_dict(orient="records"),
    }
