"""``--against``: the dataset compared with a reference manifest (files missing, extra, changed).

A reference manifest holds hashes, labels and splits of a known download (no images); rows are
matched by (source, source_path), and only sources that the reference covers are compared.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from medata.checks.findings import Findings
from medata.errors import UsageError
from medata.problems import Code
from medata.records import Status

REFERENCE_COLUMNS = ("source", "source_path", "source_label", "split", "label", "status",
                     "sha256", "phash", "bytes")  # fmt: skip


def reference_from_manifest(manifest: pd.DataFrame) -> pd.DataFrame:
    """The shareable part of a manifest: no output paths, no pixels, nothing machine-specific."""
    ref = manifest[list(REFERENCE_COLUMNS)]
    return ref.sort_values(["source", "source_path"], kind="stable").reset_index(drop=True)


def read_reference(path: Path) -> pd.DataFrame:
    try:
        ref = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read reference manifest {path}: {exc}") from exc
    missing = [c for c in ("source", "source_path", "sha256", "status") if c not in ref.columns]
    if missing:
        raise UsageError(f"{path} is not a medata manifest: missing {', '.join(missing)}")
    return ref


def compare(mine: pd.DataFrame, reference: pd.DataFrame, findings: Findings,
            from_manifest: bool) -> None:  # fmt: skip
    """Match rows by (source, source_path). From a manifest every input row is compared (the
    question is which download this is, whatever dedupe removed); from annotations.csv alone, the
    kept rows of the reference."""
    needed = {"source", "source_path", "sha256"}
    if not needed <= set(mine.columns):
        findings.add(Code.COLUMN_MISSING, "annotations.csv",
                     "--against needs the columns source, source_path and sha256")  # fmt: skip
        return
    ref = reference if from_manifest else reference[reference["status"] == Status.KEPT.value]
    sources = set(ref["source"].dropna())
    mine = mine[mine["source"].isin(sources)]
    shown = mine["path"] if "path" in mine.columns else mine.get("file_name")
    ref_by_key = dict(zip(zip(ref["source"], ref["source_path"], strict=True), ref["sha256"],
                          strict=True))  # fmt: skip
    mine_keys = set()
    for source, source_path, sha, where in zip(mine["source"], mine["source_path"], mine["sha256"],
                                               shown, strict=True):  # fmt: skip
        key = (source, source_path)
        mine_keys.add(key)
        label = where if isinstance(where, str) else f"{source}:{source_path}"
        if key not in ref_by_key:
            findings.add(Code.REFERENCE_EXTRA, label,
                         f"{source}:{source_path} is not in the reference")  # fmt: skip
        elif isinstance(sha, str) and ref_by_key[key] != sha:
            findings.add(
                Code.REFERENCE_CHANGED,
                label,
                f"{source}:{source_path} has other bytes than the reference",
                expected=ref_by_key[key],
                actual=sha,
            )
    for key in sorted(set(ref_by_key) - mine_keys):
        findings.add(Code.REFERENCE_MISSING, f"{key[0]}:{key[1]}",
                     "in the reference but not in this dataset")  # fmt: skip


def build_reference(inputs: list[Path], out: Path) -> pd.DataFrame:
    """Probe the inputs (nothing is merged) and write their reference manifest to ``out``."""
    from medata.manifest import conform
    from medata.pipeline import InputSpec, MergeOptions
    from medata.pipeline.run import plan_and_probe
    from medata.progress import NullProgress

    _, frame = plan_and_probe([InputSpec(p) for p in inputs], MergeOptions(), NullProgress())
    ref = reference_from_manifest(conform(frame))
    ref.to_parquet(out, index=False, compression="zstd")
    return ref


if __name__ == "__main__":  # python -m medata.checks.reference OUT.parquet INPUT...
    import sys

    built = build_reference([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))
    print(f"wrote {sys.argv[1]}: {len(built)} rows", file=sys.stderr)
