"""``medata review`` as one library call: quality findings from the manifest (no decode), label
issues from out-of-sample predictions (``labels``), written to ``review.parquet`` in the
dataset, drawn as contact sheets per kind (worst first), and optionally acted on: ``exclude``
takes the kept files of the named kinds out of the dataset, recorded in the manifest (status
``excluded``, reason = the kind). Nothing is excluded unless asked."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medata.errors import UsageError
from medata.manifest import Target, load_target
from medata.problems import Code
from medata.progress import NullProgress, Progress
from medata.review.options import KIND_NAMES, REVIEW_COLUMNS, REVIEW_FILE, ReviewOptions
from medata.review.quality import quality_findings


@dataclass
class ReviewResult:
    table: pd.DataFrame  # REVIEW_COLUMNS, worst first within each kind
    file: Path
    summary: dict[str, Any]
    sheets: list[Path] = field(default_factory=list)


def review(target: Path, options: ReviewOptions | None = None,
           progress: Progress | None = None) -> ReviewResult:  # fmt: skip
    """Find, rank, write and draw what a person should look at in the dataset ``target``."""
    options = options or ReviewOptions()
    progress = progress or NullProgress()
    t = load_target(target)
    if t.root is None:
        raise UsageError("medata review needs a dataset folder (it writes review.parquet there)")
    frames = [_quality_table(t.manifest)]
    if options.labels is not None:
        from medata.review.labels import label_table

        frames.append(label_table(t, options.labels, progress))
    table = _ordered(pd.concat(frames, ignore_index=True))
    summary: dict[str, Any] = {
        "dataset": str(t.root),
        "kept": int((t.manifest["status"] == "kept").sum()),
        # kept rows with image properties (a manifest of an older medata has none: merge again)
        "measured": int(t.manifest.loc[t.manifest["status"] == "kept", "brightness"].notna().sum()),
        "findings": {k: int((table["kind"] == k).sum()) for k in KIND_NAMES},
        "files_with_findings": int(table["path"].nunique()),
        "labels_checked": options.labels is not None,
    }
    file = t.root / REVIEW_FILE
    _write_parquet(table, file, labels_checked=options.labels is not None)
    summary["review_file"] = str(file)
    sheets: list[Path] = []
    if options.pictures and len(table):
        from medata.dedupe.dataset import image_loader
        from medata.report.sheets import write_review_sheets

        folder = options.sheets or t.root.parent / f"{t.root.name}-review"
        loader = image_loader(t.root, list(options.sources))
        sheets = write_review_sheets(table, t.manifest, folder, loader, options.per_sheet)
        summary["sheets"] = str(folder)
    if options.exclude:
        summary["excluded"] = _exclude(t, table, options.exclude)
    return ReviewResult(table, file, summary, sheets)


def _quality_table(manifest: pd.DataFrame) -> pd.DataFrame:
    found = quality_findings(manifest)
    rows = manifest.loc[[f.row for f in found]]
    return pd.DataFrame({
        "path": rows["path"].to_numpy(), "kind": [f.kind.value for f in found],
        "score": [f.score for f in found], "detail": [f.detail for f in found],
        "label": rows["label"].to_numpy(), "suggested_label": [None] * len(found),
        "split": rows["split"].to_numpy(), "source": rows["source"].to_numpy(),
        "source_path": rows["source_path"].to_numpy(),
    }, columns=list(REVIEW_COLUMNS))  # fmt: skip


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Kinds in their declared order, worst first, then by path: the same bytes every run."""
    rank = {k: i for i, k in enumerate(KIND_NAMES)}
    table = table.assign(_k=table["kind"].map(rank), _s=-table["score"].astype("float64"))
    table = table.sort_values(["_k", "_s", "path"], kind="stable").drop(columns=["_k", "_s"])
    table = table.reset_index(drop=True)
    for c in REVIEW_COLUMNS:
        table[c] = table[c].astype("float64" if c == "score" else "string")
    return table


_LABELS_KEY = b"medata.review.labels_checked"


def _write_parquet(table: pd.DataFrame, path: Path, labels_checked: bool) -> None:
    """Written beside, then renamed over: a crash never leaves half a file. The metadata says
    whether labels were checked (no label_issue row then means none was found)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[_LABELS_KEY] = b"true" if labels_checked else b"false"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pq.write_table(arrow.replace_schema_metadata(meta), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_review(root: Path) -> tuple[pd.DataFrame, bool] | None:
    """``review.parquet`` of a dataset and whether its labels were checked; None when there is
    no readable one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medata.guard import Refused, check_regular

    path = root / REVIEW_FILE
    if not path.exists():
        return None
    try:
        check_regular(path)
        arrow = pq.read_table(path)
    except (Refused, OSError, pa.ArrowException):
        return None
    table = arrow.to_pandas()
    if not set(REVIEW_COLUMNS) <= set(table.columns):
        return None
    return table, (arrow.schema.metadata or {}).get(_LABELS_KEY) == b"true"


def _exclude(t: Target, table: pd.DataFrame, kinds: tuple[str, ...]) -> dict[str, int]:
    """Take the kept files with findings of ``kinds`` out of the dataset (atomic rewrite)."""
    from medata.dedupe.dataset import rewrite

    m = t.manifest
    chosen = table[table["kind"].isin(kinds)].drop_duplicates("path")
    by_path = dict(zip(chosen["path"], zip(chosen["kind"], chosen["detail"], strict=True),
                       strict=True))  # fmt: skip
    hit = m.index[m["path"].isin(list(by_path)) & (m["status"] == "kept")]
    after = m.copy()
    for i in hit:
        kind, detail = by_path[m.at[i, "path"]]
        after.at[i, "status"] = "excluded"
        after.at[i, "reason"] = Code(kind).value
        after.at[i, "detail"] = f"excluded by medata review --exclude {kind}: {detail}"
    after.loc[hit, ["path", "mtime_ns"]] = pd.NA  # the other kept files keep their names
    rewrite(t, after, {"medata.review": json.dumps({"excluded": sorted(kinds)})})
    return {k: int((after.loc[hit, "reason"] == k).sum()) for k in kinds}
