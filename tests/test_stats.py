"""medata stats: the numbers equal counts computed independently from the manifest, and the HTML
report opens in a real headless browser with every image loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from medata.records import CLASSES

from .test_cli import run


def _stats_json(target: Path) -> dict:
    r = run("stats", str(target), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _check_against_pandas(stats: dict, m: pd.DataFrame) -> None:
    kept = m[m["status"] == "kept"]
    for split in ("train", "test"):
        for c in CLASSES:
            expected = int(((kept["split"] == split) & (kept["label"] == c)).sum())
            assert stats["balance"][split]["counts"][c] == expected
    for status, n in m["status"].value_counts().items():
        assert stats["fates"]["status"][status] == n
    by_source = kept.groupby(["label", "source"]).size()
    for (label, source), n in by_source.items():
        assert stats["composition"]["counts"][label][source] == n
    assert stats["images"]["total_bytes"] == int(kept["bytes"].sum())
    assert stats["images"]["files"] == len(kept)
    groups = m["dup_group"].dropna()
    assert stats["duplicates"]["groups"] == groups.nunique()
    assert stats["duplicates"]["files"] == len(groups)
    per_split = m[m["dup_group"].notna()].groupby("dup_group")["split"].nunique()
    assert stats["duplicates"]["cross_split"] == int((per_split > 1).sum())


def test_stats_numbers_equal_pandas_counts_on_generated_data(demo_merged):
    stats = _stats_json(demo_merged.out)
    _check_against_pandas(stats, pd.read_parquet(demo_merged.out / "manifest.parquet"))


def test_stats_of_the_real_archive_before_dedupe_match_its_readme(real_merged):
    stats = _stats_json(real_merged.out / "manifest.parquet")
    assert stats["balance"]["train"]["total"] == 6231
    assert stats["balance"]["test"]["total"] == 1530
    assert stats["fates"]["status"]["excluded"] == 1699
    assert stats["fates"]["reasons"] == {"label_excluded": 1699}
    _check_against_pandas(stats, pd.read_parquet(real_merged.out / "manifest.parquet"))


def test_stats_of_the_real_archive_after_dedupe_equal_pandas_counts(real_deduped):
    stats = _stats_json(real_deduped.out)
    m = pd.read_parquet(real_deduped.out / "manifest.parquet")
    _check_against_pandas(stats, m)
    assert stats["duplicates"]["removed"]["leak"] == int((m["status"] == "leak").sum()) > 0


def test_imbalance_ratio_is_largest_over_smallest_class(demo_merged):
    stats = _stats_json(demo_merged.out)
    counts = [v for v in stats["balance"]["train"]["counts"].values() if v]
    assert stats["balance"]["train"]["imbalance_ratio"] == round(max(counts) / min(counts), 3)


def test_a_class_from_one_source_only_is_warned_about(demo_merged):
    # In the generated sources Neutral comes from kmirfan and ziya07 only and no class is
    # dominated; drop every non-kmirfan Happy row to make one.
    m = pd.read_parquet(demo_merged.out / "manifest.parquet")
    from medata.statistics import composition

    m.loc[(m["label"] == "Happy") & (m["source"] != "kmirfan"), "status"] = "excluded"
    warned = composition(m)["dominated"]
    assert [w["class"] for w in warned] == ["Happy"]
    assert composition(pd.read_parquet(demo_merged.out / "manifest.parquet"))["dominated"] == []


def test_the_terminal_stats_fit_in_100_columns(demo_merged):
    r = run("stats", str(demo_merged.out))
    assert r.returncode == 0
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no chromium on PATH: run .ci/ensure-chromium (make test does)")


def test_the_html_report_loads_in_a_headless_browser_with_every_image(demo_merged, demo_sources,
                                                                      tmp_path):  # fmt: skip
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    r = run("stats", str(demo_merged.out), "--html", str(page_file), "-q",
            *[a for p in demo_sources.paths for a in ("--source", str(p))])  # fmt: skip
    assert r.returncode == 0, r.stderr
    text = page_file.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in text
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        svgs = page.evaluate("document.querySelectorAll('svg').length")
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert len(images) >= 4 and all(ok and w > 0 for ok, w in images), images
    assert svgs >= 3
    from PIL import Image

    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # not a blank page
