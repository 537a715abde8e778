"""Data loss, wrong decisions and honest numbers (issue 10, items 7-20): every file's fate is the
right one, nothing a user wrote is deleted, and errors are one short line."""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

import medata.pipeline.run
from medata import InputSpec, MergeOptions, Resplit, merge
from medata.dedupe.dataset import plan, summary
from medata.dedupe.resolve import DedupePolicy
from medata.errors import OutputError, UsageError
from medata.inputs import Reader, list_entries, open_input
from medata.manifest import load_target, read_manifest
from medata.probe import probe_many
from medata.records import CLASSES, SPLITS
from medata.statistics import compute, merge_summary
from medata.train.metrics import report

from .test_cli import run
from .test_security import face, generic_source, small_dataset


def _fates(manifest: pd.DataFrame) -> dict[str, tuple[str, object]]:
    return {p: (s, r) for p, s, r in zip(manifest["source_path"], manifest["status"],
                                         manifest["reason"], strict=True)}  # fmt: skip


# 7. Palette images


def _palette_png(colours: list[int]) -> bytes:
    im = Image.new("P", (40, 40))
    im.putdata([(x // 10 + y // 10) % 4 for y in range(40) for x in range(40)])
    im.putpalette(colours + [0] * (768 - len(colours)))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_two_palette_images_with_the_same_indices_but_other_colours_are_both_kept(tmp_path):
    warm = _palette_png([255, 0, 0, 200, 100, 0, 250, 250, 0, 90, 20, 20])
    cold = _palette_png([0, 0, 255, 0, 120, 200, 0, 250, 250, 20, 20, 90])
    src = generic_source(tmp_path / "src", {"train/happy/warm.png": warm,
                                            "train/happy/cold.png": cold})  # fmt: skip
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert m["pixel_sha256"].nunique() == 2
    # pHash works on the grey image, so only exact evidence could join them: both stay.
    kinds = set(m["dup_kind"].dropna())
    assert "exact" not in kinds


# 8. dedupe --apply never deletes what medata did not write


def test_dedupe_apply_keeps_notes_and_added_images(demo_merged, tmp_path):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(demo_merged.out, ds)
    (ds / "NOTES.md").write_text("my notes")
    (ds / "train" / "Happy" / "added-by-hand.png").write_bytes(face(7, fmt="PNG"))
    (ds / "extra").mkdir()
    (ds / "extra" / "x.txt").write_text("x")
    r = run("dedupe", str(ds), "--apply", "--no-sheets", "--threshold", "8", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["kept_unlisted"] == [
        "NOTES.md", "extra/x.txt", "train/Happy/added-by-hand.png"]  # fmt: skip
    assert (ds / "NOTES.md").read_text() == "my notes"
    assert (ds / "train" / "Happy" / "added-by-hand.png").exists()
    assert (ds / "extra" / "x.txt").read_text() == "x"


# 9. A keeper that changes before it is copied


def test_a_keeper_that_changes_before_the_copy_never_leaves_its_copies_pointing_nowhere(
    tmp_path, monkeypatch
):
    same = face(11)
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": same, "train/happy/b.jpg": same,
                                            "train/happy/c.jpg": face(12)})  # fmt: skip
    original = medata.pipeline.run.plan_and_probe

    def probe_then_change(*args, **kwargs):
        result = original(*args, **kwargs)
        (src / "train" / "happy" / "a.jpg").write_bytes(face(13))  # a was going to be kept
        return result

    monkeypatch.setattr(medata.pipeline.run, "plan_and_probe", probe_then_change)
    out = tmp_path / "out"
    m = merge([InputSpec(src, "generic")], out, MergeOptions(workers=1, resume=False)).manifest
    fates = _fates(m)
    assert fates["train/happy/a.jpg"] == ("rejected", "changed_during_merge")
    assert fates["train/happy/b.jpg"] == ("kept", None) or fates["train/happy/b.jpg"][0] == "kept"
    for detail in m.loc[m["reason"] == "duplicate_of", "detail"]:
        kept = detail.split("kept ", 1)[1].split(" (group")[0]
        assert (out / kept).is_file()
    for rel in m["path"].dropna():
        assert (out / rel).is_file()


# 10. Every class folder in both splits


def test_a_split_without_a_class_still_gets_its_folder_and_a_warning(tmp_path):
    classes = ["anger", "fear", "happy", "neutral"]
    files = {f"train/{c}/{c}{i}.jpg": face(20 * k + i, "happy")
             for k, c in enumerate(classes) for i in range(3)}  # fmt: skip
    files.update({f"test/anger/t{i}.jpg": face(900 + i) for i in range(1)})
    src = generic_source(tmp_path / "src", files)
    out = tmp_path / "out"
    result = merge([InputSpec(src, "generic")], out, MergeOptions(workers=1, dedupe=None))
    for split in SPLITS:
        assert sorted(p.name for p in (out / split).iterdir()) == sorted(CLASSES)
    warnings = merge_summary(result.manifest, str(out), [])["warnings"]
    assert any("test" in w and "Fear" in w for w in warnings)
    assert any("test split holds 1 of 13" in w for w in warnings)


# 11. demo never deletes a folder it did not make


def test_demo_refuses_a_non_empty_folder_even_with_a_stray_marker(tmp_path):
    target = tmp_path / "work"
    target.mkdir()
    (target / ".medata-demo").write_text("stray")
    (target / "thesis.tex").write_text("years of work")
    r = run("demo", str(target), "-q", "--per-class", "2")
    assert r.returncode in (1, 2) and "--replace" in r.stderr
    assert (target / "thesis.tex").read_text() == "years of work"


# 12. Refused before any work, nothing left behind


@pytest.mark.parametrize("args", [["--threshold", "40"], ["--threshold", "-1"],
                                  ["--resplit", "--test-size", "1.5"], ["--workers", "0"],
                                  ["--max-file-mb", "0"]])  # fmt: skip
def test_nonsensical_merge_options_are_refused_and_leave_nothing(tmp_path, args):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(1)})
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run("merge", str(src), "--out", str(tmp_path / "out"), *args)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("kind", ["file", "non-empty"])
def test_a_refused_output_fails_before_probing_and_leaves_no_cache_or_lock(
    tmp_path, monkeypatch, kind
):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(1)})
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("x")
    else:
        out.mkdir()
        (out / "keep.txt").write_text("x")

    def no_probe(*args, **kwargs):
        raise AssertionError("probed before refusing the output")

    monkeypatch.setattr(medata.pipeline.run, "plan_and_probe", no_probe)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputError):
        merge([InputSpec(src, "generic")], out, MergeOptions(workers=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_bad_test_size_is_refused_by_the_library_too():
    with pytest.raises(UsageError, match="test-size"):
        Resplit(test_size=0)


# 13. --resplit keeps duplicate groups on one side


def test_resplit_never_splits_a_duplicate_group_across_train_and_test(demo_sources, tmp_path):
    options = MergeOptions(workers=1, resplit=Resplit(0.3, seed=5))
    m = merge([InputSpec(p) for p in demo_sources.paths], tmp_path / "out", options).manifest
    assert (m["status"] == "leak").sum() == 0
    placed = m[m["dup_group"].notna() & m["status"].isin(["kept", "duplicate", "conflict"])]
    assert (placed.groupby("dup_group")["split"].nunique() <= 1).all()
    assert placed["dup_group"].nunique() > 3  # the generated sources do hold copies


# 14. Member names, extensions and formats


def test_members_stored_with_a_leading_dot_slash_are_normalised_and_kept(tmp_path):
    archive = tmp_path / "micro-expressions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k, cls in enumerate(["happiness", "anger"]):
            zf.writestr(f"./Micro_Expressions/train/{cls}/{cls}1.jpg", face(30 + k))
            zf.writestr(f"./Micro_Expressions/test/{cls}/{cls}1.jpg", face(40 + k))
    m = merge([InputSpec(archive)], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert (m["status"] == "kept").sum() == 4
    assert set(m["source"]) == {"kmirfan"}
    assert all(p.startswith("Micro_Expressions/") for p in m["source_path"])


def _saved(fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(face(50))).convert("1" if fmt == "XBM" else "RGB").save(buf, fmt, **kw)
    return buf.getvalue()


def test_jpe_and_jfif_are_jpegs_and_foreign_formats_are_never_kept_under_an_image_extension(
    tmp_path,
):
    files = {"train/happy/a.jpe": face(60), "train/happy/b.jfif": face(61),
             "train/happy/tga.jpg": _saved("TGA"), "train/happy/xbm.png": _saved("XBM"),
             "train/happy/jp2.jpg": _saved("JPEG2000"), "train/happy/avif.jpg": _saved("AVIF"),
             "train/happy/eps.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n",
             }  # fmt: skip
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    fates = _fates(m)
    assert fates["train/happy/a.jpe"][0] == "kept" and fates["train/happy/b.jfif"][0] == "kept"
    kept_paths = set(m["path"].dropna())
    assert {Path(p).suffix for p in kept_paths} == {".jpg"}
    for name in ("tga.jpg", "xbm.png", "jp2.jpg", "avif.jpg", "eps.jpg"):
        status, reason = fates[f"train/happy/{name}"]
        assert status == "rejected" and reason in ("format_not_allowed", "undecodable"), name
    eps = m.set_index("source_path").loc["train/happy/eps.jpg"]
    assert eps["reason"] == "format_not_allowed" and "EPS" in eps["detail"]


# 15. One odd name never kills a merge


def test_a_latin1_file_name_and_a_symlink_loop_are_rows_with_reasons(tmp_path):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(70)})
    folder = os.fsencode(src / "train" / "happy")
    with open(os.path.join(folder, b"caf\xe9.jpg"), "wb") as fh:
        fh.write(face(71))
    os.symlink("loop.jpg", src / "train" / "happy" / "loop.jpg")
    out = tmp_path / "out"
    r = run("merge", str(src), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    m, _ = read_manifest(out / "manifest.parquet")
    fates = _fates(m)
    assert fates["train/happy/caf\\xe9.jpg"] == ("rejected", "bad_name")
    assert fates["train/happy/loop.jpg"] == ("rejected", "unreadable")
    assert fates["train/happy/a.jpg"][0] == "kept"


# 16. Deterministic details


def test_undecodable_members_give_the_same_detail_in_every_run(tmp_path):
    files = {"train/happy/a.jpg": face(80), "train/happy/junk.jpg": b"not an image at all",
             "train/happy/half.png": _saved("PNG")[:60]}  # fmt: skip
    src = generic_source(tmp_path / "src", files)
    one = merge([InputSpec(src, "generic")], tmp_path / "o1", MergeOptions(workers=1)).manifest
    two = merge([InputSpec(src, "generic")], tmp_path / "o2", MergeOptions(workers=2)).manifest
    assert one["detail"].fillna("").tolist() == two["detail"].fillna("").tolist()
    assert not one["detail"].fillna("").str.contains(r"0x[0-9a-f]{6,}|/tmp/").any()


# 17. No open file shared across fork


def test_probe_workers_forked_after_a_read_in_the_parent_all_read_correctly(real_zip):
    ref = open_input(real_zip)
    keys = [e.key for e in list_entries(ref) if e.path.endswith(".jpg")][:3000]
    with Reader(ref) as reader:  # caches the open archive in this (parent) process
        reader.read(keys[0])
    results = probe_many([(ref, keys)], workers=2, partition_size=100)
    assert sum(r.problem is not None for r in results.values()) == 0
    assert len(results) == 3000


# 18. One definition of a label conflict


def test_stats_and_dedupe_count_the_same_label_conflicts(tmp_path):
    same, other = face(90), face(91, "anger")
    files = {
        "kmirfan/train/sadness/s.jpg": same,
        "kori/train/sad/s.jpg": same,  # one class
        "x/train/happy/h.jpg": other,
        "x/train/anger/h.jpg": other,
    }  # a real conflict
    src = generic_source(tmp_path / "src", files)
    out = tmp_path / "out"
    merge([InputSpec(src, "generic")], out, MergeOptions(workers=1, dedupe=None))
    target = load_target(out)
    p = plan(target, DedupePolicy())
    assert summary(target, p)["groups"]["label_conflict"] == 1
    assert compute(p.manifest)["duplicates"]["conflict"] == 1


# 19. User mistakes are one short line


def _one_short_line(r) -> None:
    assert r.returncode in (1, 2), (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 500 + len("Error: "), r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


def test_predict_on_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path):
    pytest.importorskip("torch", reason="the train extra is part of make test")
    fake = tmp_path / "model.pt"
    fake.write_text("this is not a checkpoint")
    (tmp_path / "x.jpg").write_bytes(face(1))
    _one_short_line(run("predict", str(fake), str(tmp_path / "x.jpg")))


@pytest.mark.parametrize("device", ["cuda", "tpu", "cuda:abc"])
def test_an_unavailable_or_unknown_device_is_one_line(tmp_path, device):
    torch = pytest.importorskip("torch", reason="the train extra is part of make test")
    assert not torch.cuda.is_available()  # CI and this machine have no GPU
    ds = small_dataset(tmp_path)
    _one_short_line(run("train-baseline", str(ds), "--quick", "--device", device,
                        "--out", str(tmp_path / "run")))  # fmt: skip


@pytest.mark.parametrize("column,value", [("width", "wide"), ("phash", "zzzzzzzzzzzzzzzz"),
                                          ("sha256", "x" * 300), ("status", "gone")])  # fmt: skip
def test_a_manifest_with_wrong_values_is_one_line_for_dedupe_and_stats(tmp_path, column, value):
    ds = small_dataset(tmp_path)
    table = pq.read_table(ds / "manifest.parquet").to_pandas()
    table[column] = table[column].astype(str)
    table.loc[0, column] = value
    bad = tmp_path / "bad.parquet"
    table.to_parquet(bad)
    _one_short_line(run("dedupe", str(bad), "--no-sheets"))
    _one_short_line(run("stats", str(bad)))


def test_a_very_long_path_in_annotations_or_on_the_command_line_is_handled(tmp_path):
    ds = small_dataset(tmp_path)
    ann = pd.read_csv(ds / "annotations.csv", dtype=str)
    ann.loc[0, "file_name"] = "train/Happy/" + "x" * 300 + ".jpg"
    ann.to_csv(ds / "annotations.csv", index=False)
    r = run("validate", str(ds), "--format", "json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "file_missing" in r.stdout
    _one_short_line(run("merge", str(tmp_path / ("y" * 3000)), "--out", str(tmp_path / "o")))


# 20. Macro-F1 over all six classes


def _f1(t: np.ndarray, p: np.ndarray, c: int) -> float:
    tp = int(((t == c) & (p == c)).sum())
    fp = int(((t != c) & (p == c)).sum())
    fn = int(((t == c) & (p != c)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def test_macro_f1_counts_a_class_absent_from_test_as_zero_and_weighted_f1_is_exact():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, size=200)  # class 5 never occurs in test
    p = np.where(rng.random(200) < 0.7, t, rng.integers(0, 6, size=200))
    r = report(t, p, list(CLASSES))
    per = [_f1(t, p, c) for c in range(6)]
    assert r["macro_f1"] == pytest.approx(sum(per) / 6)
    support = np.bincount(t, minlength=6)
    assert r["weighted_f1"] == pytest.approx(float(np.dot(per, support) / support.sum()))
    for c, name in enumerate(CLASSES):
        assert r["per_class"][name]["f1"] == pytest.approx(per[c])
        assert r["per_class"][name]["support"] == int(support[c])


def test_random_relabelling_cannot_raise_the_score_of_a_perfect_prediction():
    t = np.array([0, 1, 2, 3, 4, 5] * 5)
    assert report(t, t, list(CLASSES))["macro_f1"] == 1.0
    shuffled = random.Random(1).sample(list(t), len(t))
    assert report(t, np.array(shuffled), list(CLASSES))["macro_f1"] < 1.0


def test_reports_and_training_decode_only_the_allowed_formats():
    from medata.probe import open_image, preview
    from medata.train.data import to_array

    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"
    tga = _saved("TGA")
    for data in (eps, tga):
        assert preview(data, 64) is None
        with pytest.raises(Exception, match="cannot identify"):
            open_image(data)
    assert preview(face(5), 64).size == (64, 64)
    pytest.importorskip("torch", reason="the train extra is part of make test")
    assert to_array(tga) is None and to_array(face(5)).shape == (48, 48)
