"""Behaviour pinned for refactoring (issue 12): the demo sources merge to exactly the dataset
recorded below. A change that means to alter the output re-records these digests in the same
commit and says why in the CHANGELOG; a refactor never touches them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from medata.ingest import InputSpec, MergeOptions, merge

# Recorded with the code of the commit that added this test (and re-recorded only by changes
# that mean to change the output).
RECORDED = {
    "annotations": "3f711888672ae8171ea336854e52c6e1333e80c15d8bd8d74eb5c32707d8489a",
    "manifest": "85ae553ab7859d26a8241e6c0f5f705ca290f5847dc3dac9ade6e7a5a49067eb",
}
RECORDED_REAL = {
    "annotations": "e2bf075397ae007c851b1dbfbf5fa288d35d29f6ded349c8945e52c01b6f24cb",
    "manifest": "8d4a868ae7a0c5a3801586444d53000331ec980c5062d86d376dc23d34433f49",
}
# Columns that say where and when the inputs were on this machine, not what medata decided.
VOLATILE = ["input", "mtime_ns"]


def digests(inputs: list[Path], out: Path) -> dict[str, str]:
    result = merge([InputSpec(p) for p in inputs], out, MergeOptions(workers=2))
    annotations = hashlib.sha256((out / "annotations.csv").read_bytes()).hexdigest()
    frame = result.manifest.drop(columns=VOLATILE)
    h = hashlib.sha256("\x1f".join(frame.columns).encode())
    for row in frame.itertuples(index=False):
        cells = (v.hex() if isinstance(v, bytes) else "<NA>" if pd.isna(v) else str(v) for v in row)
        h.update(("\x1e" + "\x1f".join(cells)).encode())
    return {"annotations": annotations, "manifest": h.hexdigest()}


def test_the_demo_sources_merge_to_the_recorded_dataset(demo_sources, tmp_path):
    assert digests(demo_sources.paths, tmp_path / "out") == RECORDED


def test_the_real_archive_merges_to_the_recorded_dataset(real_zip, tmp_path):
    assert digests([real_zip], tmp_path / "out") == RECORDED_REAL
