"""Statistics of a dataset: pure functions over the manifest -> plain tables and numbers.

No image is decoded here; the report layer draws what these return.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medata.dedupe.groups import label_conflicts
from medata.records import CLASSES, SPLITS, Status

DOMINANT_SHARE = 0.9  # a class this much from one source can teach a model the source


def kept(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest[manifest["status"] == Status.KEPT.value]


def class_balance(manifest: pd.DataFrame) -> dict[str, Any]:
    """Counts per split x class, shares within the split, and the imbalance ratio."""
    k = kept(manifest)
    out: dict[str, Any] = {}
    for split in SPLITS:
        counts = {c: int(((k["split"] == split) & (k["label"] == c)).sum()) for c in CLASSES}
        total = sum(counts.values())
        nonzero = [v for v in counts.values() if v]
        out[split] = {
            "counts": counts,
            "total": total,
            "shares": {c: round(v / total, 4) if total else 0.0 for c, v in counts.items()},
            "imbalance_ratio": round(max(nonzero) / min(nonzero), 3) if nonzero else None,
            "empty_classes": [c for c, v in counts.items() if v == 0],
        }
    return out


def composition(manifest: pd.DataFrame) -> dict[str, Any]:
    """Kept images per class x source, and classes that come almost all from one source."""
    k = kept(manifest)
    table = pd.crosstab(k["label"], k["source"]).reindex(index=list(CLASSES), fill_value=0)
    counts = {c: {s: int(v) for s, v in table.loc[c].items()} for c in CLASSES}
    warnings = []
    if k["source"].nunique() > 1:
        for c in CLASSES:
            total = sum(counts[c].values())
            if total:
                source, top = max(counts[c].items(), key=lambda kv: (kv[1], kv[0]))
                if top / total >= DOMINANT_SHARE:
                    warnings.append({"class": c, "source": source, "share": round(top / total, 3)})
    return {"counts": counts, "dominated": warnings}


def images(manifest: pd.DataFrame, bins: int = 12) -> dict[str, Any]:
    """Sizes, colour modes and formats of kept images, per source; total bytes."""
    k = kept(manifest)
    per_source: dict[str, Any] = {}
    for source, g in k.groupby("source", sort=True):
        w, h = g["width"].astype(float), g["height"].astype(float)
        per_source[str(source)] = {
            "files": len(g),
            "width": _quantiles(w),
            "height": _quantiles(h),
            "modes": {str(m): int(n) for m, n in g["mode"].value_counts().sort_index().items()},
            "formats": {str(f): int(n) for f, n in g["format"].value_counts().sort_index().items()},
            "bytes": int(g["bytes"].sum()),
            "width_histogram": _histogram(w, bins),
        }
    return {"per_source": per_source, "total_bytes": int(k["bytes"].sum()), "files": len(k)}


def _quantiles(values: pd.Series) -> dict[str, float]:
    if values.empty:
        return {}
    q = values.quantile([0.0, 0.5, 1.0]).to_numpy()
    return {"min": float(q[0]), "median": float(q[1]), "max": float(q[2])}


def _histogram(values: pd.Series, bins: int) -> dict[str, list[float]]:
    v = values.dropna().to_numpy()
    if len(v) == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(v.min()), float(v.max())
    counts, edges = np.histogram(
        v, bins=bins if hi > lo else 1, range=(lo, hi if hi > lo else lo + 1)
    )
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def fates(manifest: pd.DataFrame) -> dict[str, Any]:
    """What the merge did: status counts per source, and reasons."""
    by_source = pd.crosstab(manifest["source"], manifest["status"])
    statuses = [s.value for s in Status]
    return {
        "status": {s: int((manifest["status"] == s).sum()) for s in statuses},
        "by_source": {
            str(src): {s: int(row.get(s, 0)) for s in statuses} for src, row in by_source.iterrows()
        },
        "reasons": {
            str(r): int(n)
            for r, n in manifest["reason"].dropna().value_counts().sort_index().items()
        },
    }


def duplicates(manifest: pd.DataFrame) -> dict[str, Any]:
    """Duplicate groups recorded in the manifest: how many, how big, across what."""
    g = manifest[manifest["dup_group"].notna()]
    if g.empty:
        return {"groups": 0, "files": 0, "exact": 0, "near": 0, "cross_split": 0,
                "cross_source": 0, "conflict": 0, "removed": {}}  # fmt: skip
    frame = pd.DataFrame({
        "group": g["dup_group"].astype(str).to_numpy(),
        "kind": g["dup_kind"].astype(str).to_numpy(),
        "split": g["split"].astype(str).to_numpy(),
        "source": g["source"].astype(str).to_numpy(),
    })  # fmt: skip
    per = frame.groupby("group")
    n = per[["split", "source"]].nunique()
    kind = per["kind"].first()
    statuses = (Status.DUPLICATE.value, Status.LEAK.value, Status.CONFLICT.value)
    return {
        "groups": int(len(n)),
        "files": int(len(g)),
        "exact": int((kind == "exact").sum()),
        "near": int((kind != "exact").sum()),
        "cross_split": int((n["split"] > 1).sum()),
        "cross_source": int((n["source"] > 1).sum()),
        "conflict": label_conflicts(manifest, manifest["dup_group"]),
        "removed": {s: int((manifest["status"] == s).sum()) for s in statuses},
    }


def compute(manifest: pd.DataFrame) -> dict[str, Any]:
    return {
        "rows": len(manifest),
        "balance": class_balance(manifest),
        "composition": composition(manifest),
        "images": images(manifest),
        "fates": fates(manifest),
        "duplicates": duplicates(manifest),
    }


# What merge prints: the fate of every input file, and what to know before training.


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
    """Kept images per split x class (the counts of ``class_balance``)."""
    balance = class_balance(manifest)
    return {split: balance[split]["counts"] for split in SPLITS}


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
