"""medata review: image properties measured in the probe, quality findings on planted copies,
review.parquet and its sheets, --exclude, validate --fail-on, and label issues (k-fold)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from medata import InputSpec, MergeOptions, merge
from medata.manifest import read_manifest
from medata.probe import probe_bytes
from tests.conftest import tree_digest

CLASSES = ["Anger", "Disgust", "Fear", "Happy", "Neutral", "Surprised"]


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A photo-like RGB picture: smooth random shapes, a random exposure, a little grain."""
    small = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
    a = np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC), float)
    a = a * rng.uniform(0.7, 1.1) + rng.uniform(-25, 25)
    return a + rng.normal(0, 4, a.shape)


PLANTS = {
    "dark": lambda a: a * 0.3,
    "light": lambda a: 255 - (255 - a) * 0.3,
    "blurry": lambda a: np.asarray(
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2.5)),
        float,
    ),  # fmt: skip
    "low_information": lambda a: a.mean() + (a - a.mean()) * 0.12,
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A generic-layout folder of 150 untouched pictures and 5 planted copies of each kind,
    merged without dedupe; returns the dataset and {output path: planted kind}."""
    root = tmp_path_factory.mktemp("planted")
    src = root / "src"
    rng = np.random.default_rng(3)
    truth: dict[str, str] = {}
    for i in range(150):
        a = _texture(rng)
        cls = CLASSES[i % 6]
        (src / "train" / cls).mkdir(parents=True, exist_ok=True)
        (src / "train" / cls / f"img{i:03d}.png").write_bytes(_png(a))
        if i < 20:
            kind = list(PLANTS)[i % 4]
            (src / "train" / cls / f"planted{i:03d}.png").write_bytes(_png(PLANTS[kind](a)))
            truth[f"train/{cls}/planted{i:03d}.png"] = kind
    out = root / "merged"
    result = merge([InputSpec(src)], out, MergeOptions(dedupe=None, workers=1))
    m = result.manifest
    by_source_path = dict(zip(m["source_path"], m["path"], strict=True))
    return out, {by_source_path[k]: v for k, v in truth.items()}


def test_the_properties_are_measured_on_the_probe_s_own_thumbnails():
    rng = np.random.default_rng(0)
    a = _texture(rng, 80)
    r = probe_bytes("x.png", _png(a))
    im = Image.open(io.BytesIO(_png(a)))
    small = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.LANCZOS), float)
    assert r.brightness == pytest.approx(small.mean(), abs=1e-3)
    assert r.contrast == pytest.approx(small.std(), abs=1e-3)
    lap = 4 * small[1:-1, 1:-1] - small[:-2, 1:-1] - small[2:, 1:-1] - small[1:-1, :-2]
    lap -= small[1:-1, 2:]
    assert r.sharpness == pytest.approx(lap.var(), rel=1e-4)
    sample = np.asarray(im.resize((16, 16), Image.Resampling.NEAREST), int)
    assert r.colour_spread == pytest.approx((sample.max(2) - sample.min(2)).mean(), abs=1e-3)
    assert r.aspect == 1.0 and 0 < r.entropy <= 8
    assert r.grey_p01 <= r.brightness <= r.grey_p99
    grey_rgb = np.repeat(a.mean(axis=2, keepdims=True), 3, axis=2)
    assert probe_bytes("g.png", _png(grey_rgb)).colour_spread == 0.0
    assert probe_bytes("l.png", _png(a.mean(axis=2))).colour_spread is None  # a grey image


def test_planted_dark_light_blurry_and_flat_copies_are_found_and_untouched_images_are_not(
    planted,
):
    from medata.review.quality import quality_findings

    out, truth = planted
    m, _ = read_manifest(out / "manifest.parquet")
    kinds: dict[str, set[str]] = {}
    for f in quality_findings(m):
        kinds.setdefault(str(m.at[f.row, "path"]), set()).add(f.kind.value)
    for path, kind in truth.items():
        assert kind in kinds.get(path, set()), (path, kind, kinds.get(path))
    untouched = [p for p in m["path"].dropna() if p not in truth]
    judged = {"dark", "light", "blurry", "low_information"}
    false_flags = [p for p in untouched if kinds.get(p, set()) & judged]
    assert len(false_flags) <= 0.02 * len(untouched), false_flags
    assert not any("grey_as_colour" in k for k in kinds.values())  # every picture is in colour


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medata", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def test_review_writes_a_ranked_review_parquet_and_sheets_and_changes_nothing_else(
    planted, tmp_path
):
    out, truth = planted
    before = tree_digest(out)
    r = _run("review", str(out), "--json", "--sheets", str(tmp_path / "sheets"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    table = pd.read_parquet(out / "review.parquet")
    assert summary["findings"]["dark"] == (table["kind"] == "dark").sum() >= 5
    for kind, rows in table.groupby("kind"):
        assert rows["score"].is_monotonic_decreasing, kind  # worst first
        assert (tmp_path / "sheets" / f"{kind}.png").is_file()
    assert set(truth) <= set(table["path"])
    after = tree_digest(out)
    after.pop("review.parquet")
    assert after == before  # no image, table or manifest touched
    again = _run("review", str(out), "-q", "--no-sheets")
    assert again.returncode == 0
    assert pd.read_parquet(out / "review.parquet").equals(table)  # the same inputs, same table


def test_review_exclude_takes_the_files_out_and_records_the_kind_in_the_manifest(planted, tmp_path):
    import shutil

    src, truth = planted
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    r = _run("review", str(out), "--exclude", "dark,blurry", "--no-sheets", "--json")
    assert r.returncode == 0, r.stderr
    m, _ = read_manifest(out / "manifest.parquet")
    gone = [p for p, k in truth.items() if k in ("dark", "blurry")]
    for p in gone:
        assert not (out / p).exists()
    excluded = m[m["status"] == "excluded"]
    assert set(excluded["reason"]) <= {"dark", "blurry"} and len(excluded) >= len(gone)
    assert excluded["detail"].str.startswith("excluded by medata review --exclude").all()
    annotations = pd.read_csv(out / "annotations.csv")
    assert not set(gone) & set(annotations["file_name"])
    assert _run("validate", str(out), "-q").returncode == 0  # the rewritten dataset is valid
    bad = _run("review", str(out), "--exclude", "fuzzy")
    assert bad.returncode == 2 and "unknown kind 'fuzzy'" in bad.stderr


def test_validate_fail_on_turns_chosen_kinds_into_errors(planted):
    out, _ = planted
    assert _run("validate", str(out), "-q").returncode == 0
    r = _run("validate", str(out), "--fail-on", "blurry", "--format", "json")
    assert r.returncode == 1
    codes = {f["code"] for f in json.loads(r.stdout)["findings"] if f["severity"] == "error"}
    assert codes == {"blurry"}
    missing = _run("validate", str(out), "--fail-on", "label_issue")
    assert missing.returncode == 2 and "--labels" in missing.stderr


def test_a_manifest_written_before_the_properties_existed_still_loads(planted, tmp_path):
    import pyarrow.parquet as pq

    from medata.properties import PROPERTY_COLUMNS

    out, _ = planted
    table = pq.read_table(out / "manifest.parquet")
    old = table.drop_columns(list(PROPERTY_COLUMNS))
    pq.write_table(old, tmp_path / "old.parquet")
    m, _ = read_manifest(tmp_path / "old.parquet")
    assert m["brightness"].isna().all() and len(m) == table.num_rows


def _stripes(cls: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A picture whose class a small CNN learns at once, whatever the training's flips and
    turns: stripes at a random angle whose period (3 to 16 pixels) is the class."""
    y, x = np.mgrid[0:size, 0:size]
    angle = rng.uniform(0, np.pi)
    phase = rng.uniform(0, 2 * np.pi)
    period = (3.0, 4.5, 6.5, 9.0, 12.0, 16.0)[cls]
    wave = np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period + phase)
    return 128 + 90 * wave + rng.normal(0, 12, (size, size))


def test_review_labels_finds_planted_label_flips_with_the_true_label_suggested(tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "src"
    flips: dict[str, tuple[str, str]] = {}
    for i in range(720):  # fewer images leave the folds' models too unsure for cleanlab
        cls = i % 6
        given = cls
        if i % 45 == 7:  # 16 planted flips (2%)
            given = (cls + 3) % 6
        split = "test" if i % 5 == 0 else "train"
        folder = src / split / CLASSES[given]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{i:03d}.png").write_bytes(_png(_stripes(cls, rng)))
        if given != cls:
            flips[f"{split}/{CLASSES[given]}/s{i:03d}.png"] = (CLASSES[given], CLASSES[cls])
    out = tmp_path / "merged"
    result = merge([InputSpec(src)], out, MergeOptions(dedupe=None, workers=1))
    paths = dict(zip(result.manifest["source_path"], result.manifest["path"], strict=True))
    r = _run("review", str(out), "--labels", "--folds", "3", "--no-sheets", "--json")
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(out / "review.parquet")
    issues = table[table["kind"] == "label_issue"]
    found = {paths[k]: v for k, v in flips.items()}
    hit = issues[issues["path"].isin(list(found))]
    assert len(hit) >= 12  # at least 75% of the planted flips
    assert len(issues) <= 3 * len(found)  # not a flood of false alarms
    right = [(row.label, row.suggested_label) == found[row.path] for row in hit.itertuples()]
    assert sum(right) >= 0.75 * len(hit)  # the true label suggested for most
    assert issues["score"].is_monotonic_decreasing
    ok = _run("validate", str(out), "--fail-on", "label_issue", "--format", "json")
    assert ok.returncode == 1
    errors = [f for f in json.loads(ok.stdout)["findings"] if f["code"] == "label_issue"]
    assert len(errors) == len(issues) and errors[0]["expected"] in CLASSES


def test_the_stats_report_shows_the_review_when_there_is_one(planted, tmp_path):
    out, truth = planted
    assert _run("review", str(out), "-q", "--no-sheets").returncode == 0
    table = pd.read_parquet(out / "review.parquet")
    page = tmp_path / "report.html"
    assert _run("stats", str(out), "--html", str(page), "-q").returncode == 0
    html = page.read_text()
    assert "<h2>Review</h2>" in html and "labels not checked" in html
    for kind, n in table["kind"].value_counts().items():
        assert f"{kind} · {n} files" in html
