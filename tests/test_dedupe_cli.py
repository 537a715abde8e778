"""medata dedupe on an existing dataset: report, pictures, --apply, --query."""

from __future__ import annotations

import json
import random
import re
import shutil

import pandas as pd
import pytest

from medata import InputSpec, MergeOptions, merge, validate
from medata.demo.synth import draw_face, encode

from .conftest import tree_digest
from .test_cli import run


@pytest.fixture(scope="session")
def raw_dataset(demo_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("raw") / "raw"
    merge([InputSpec(p) for p in demo_sources.paths], out, MergeOptions(dedupe=None))
    return out


@pytest.fixture
def raw_copy(raw_dataset, tmp_path):
    shutil.copytree(raw_dataset, tmp_path / "raw")
    return tmp_path / "raw"


def test_a_dry_run_reports_groups_as_json_and_changes_nothing(raw_copy, tmp_path):
    before = tree_digest(raw_copy)
    r = run("dedupe", str(raw_copy), "--json", "--sheets", str(tmp_path / "sheets"))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert tree_digest(raw_copy) == before
    m = pd.read_parquet(raw_copy / "manifest.parquet")
    probed = m[m["sha256"].notna() & m["status"].isin(["kept", "excluded"])]
    sizes = probed.groupby("sha256").size()
    assert info["byte_identical"]["groups"] == int((sizes > 1).sum())
    assert info["groups"]["total"] >= info["byte_identical"]["groups"]
    assert info["changes"]["leak"] >= 1 and info["changes"]["conflict"] >= 2


def test_contact_sheets_and_a_gallery_are_written_for_the_groups(raw_copy, tmp_path):
    sheets = tmp_path / "sheets"
    r = run("dedupe", str(raw_copy), "-q", "--sheets", str(sheets))
    assert r.returncode == 0, r.stderr
    pngs = sorted(sheets.glob("g*.png"))
    assert len(pngs) >= 3
    page = (sheets / "index.html").read_text()
    for src in re.findall(r'src="([^"]+)"', page):
        assert (sheets / src).exists()
    from PIL import Image

    with Image.open(pngs[0]) as im:
        assert im.width > 200 and im.getextrema() != ((255, 255),) * 3


def test_the_sheet_of_a_burst_of_frames_draws_the_kept_frame_first_and_stays_small():
    import io

    from PIL import Image

    from medata.report.sheets import SHOWN, sheet

    # A group of 5,000 frames (a video clip): one strip of them all was 590,000 pixels wide.
    members = pd.DataFrame({
        "status": ["duplicate"] * 2500 + ["kept"] + ["duplicate"] * 2499,
        "split": "train", "label": "Happy", "source_label": "happy", "source": "generic",
        "distance": 0, "score": 0.99, "kind": "near", "path": [f"f{k}.png" for k in range(5000)],
    })  # fmt: skip

    def tile(colour: str) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (64, 64), colour).save(out, "PNG")
        return out.getvalue()

    red, blue = tile("red"), tile("blue")
    loaded = []

    def load(row: pd.Series) -> bytes:
        loaded.append(row["path"])
        return red if row["status"] == "kept" else blue

    im = sheet(members, load)
    assert im.width < 1600 and im.height < 1000
    assert len(loaded) == SHOWN and loaded[0] == "f2500.png"  # the kept frame, first
    assert im.getpixel((6 + 56, 6 + 56)) == (255, 0, 0)


def test_apply_gives_the_same_kept_set_as_deduplicating_during_merge(
    raw_copy, demo_merged, tmp_path
):
    r = run("dedupe", str(raw_copy), "--apply", "--no-sheets", "-q")
    assert r.returncode == 0, r.stderr
    after = pd.read_parquet(raw_copy / "manifest.parquet")

    def kept(m):
        k = m[m["status"] == "kept"]
        return sorted(zip(k["input"], k["source_path"], k["split"], strict=True))

    assert kept(after) == kept(demo_merged.manifest)
    result = validate(raw_copy)
    assert result.errors == 0
    assert not {"exact_leak", "label_conflict", "orphan_file"} & set(result.findings["code"])


def test_apply_twice_changes_nothing_the_second_time(raw_copy):
    assert run("dedupe", str(raw_copy), "--apply", "--no-sheets", "-q").returncode == 0
    before = tree_digest(raw_copy)
    r = run("dedupe", str(raw_copy), "--json", "--apply", "--no-sheets")
    assert json.loads(r.stdout)["changes"] == {}
    after = tree_digest(raw_copy)
    assert {k: v for k, v in after.items() if k != "manifest.parquet"} == {
        k: v for k, v in before.items() if k != "manifest.parquet"
    }


def test_query_finds_an_image_already_in_the_dataset_and_not_a_new_one(raw_dataset, tmp_path):
    known = next((raw_dataset / "train" / "Happy").iterdir())
    new = tmp_path / "new.png"
    new.write_bytes(encode(draw_face("fear", random.Random(999)), "PNG"))
    r = run("dedupe", "--query", str(known), "--query", str(new), "--against",
            str(raw_dataset / "manifest.parquet"), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    mine = [h for h in hits if h["query"] == str(known)]
    assert any(h["detail"] == "same bytes" and h["distance"] == 0 for h in mine)
    assert [h["detail"] for h in hits if h["query"] == str(new)] == ["no match"]


def test_dedupe_of_a_folder_without_manifest_is_a_usage_error(tmp_path):
    r = run("dedupe", str(tmp_path))
    assert r.returncode == 2 and "manifest" in r.stderr and "Traceback" not in r.stderr
