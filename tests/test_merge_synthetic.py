"""merge on the generated versions of the three sources."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from medata import InputSpec, MergeOptions, Resplit, merge
from medata.demo.synth import DemoSources, make_sources
from medata.errors import OutputError, UsageError
from medata.labels import LabelMap
from medata.manifest import read_manifest
from medata.records import CLASSES

from .conftest import sha256_file, tree_digest


def _input_file_count(path: Path) -> int:
    if path.is_dir():
        return sum(1 for p in path.rglob("*") if p.is_file())
    with zipfile.ZipFile(path) as zf:
        return sum(1 for i in zf.infolist() if not i.is_dir())


def _row(manifest: pd.DataFrame, input_name: str, source_path: str) -> pd.Series:
    hit = manifest[(manifest["input"] == input_name) & (manifest["source_path"] == source_path)]
    assert len(hit) == 1, f"expected one row for {input_name}:{source_path}, got {len(hit)}"
    return hit.iloc[0]


def test_each_generated_input_is_detected_as_its_own_source(demo_merged, demo_sources):
    found = {d.ref.name: d.source for d in demo_merged.inputs}
    assert found == {
        demo_sources.kmirfan.name: "kmirfan",
        demo_sources.ziya07.name: "ziya07",
        demo_sources.kori.name: "kori",
    }


def test_every_input_file_becomes_exactly_one_manifest_row(demo_merged, demo_sources):
    m = demo_merged.manifest
    for path in demo_sources.paths:
        assert (m["input"] == path.name).sum() == _input_file_count(path)


def test_debris_is_excluded_with_the_debris_reason(demo_merged, demo_sources):
    for input_name, path in demo_sources.planted.debris:
        row = _row(demo_merged.manifest, input_name, path)
        assert (row["status"], row["reason"]) == ("excluded", "debris")


def test_zero_byte_and_truncated_files_are_rejected_with_their_reason(demo_merged, demo_sources):
    for input_name, path in demo_sources.planted.empty:
        row = _row(demo_merged.manifest, input_name, path)
        assert (row["status"], row["reason"]) == ("rejected", "empty_file")
    for input_name, path in demo_sources.planted.corrupt:
        row = _row(demo_merged.manifest, input_name, path)
        assert (row["status"], row["reason"]) == ("rejected", "truncated")


def test_sad_and_contempt_are_excluded_by_default_and_named_in_the_row(demo_merged):
    m = demo_merged.manifest
    extra = m[m["source_label"].str.casefold().isin(["sad", "sadness", "contempt"])]
    assert len(extra) > 0
    assert set(extra["status"]) == {"excluded"}
    assert set(extra["reason"]) == {"label_excluded"}
    assert extra["path"].isna().all()


def test_output_has_six_class_folders_in_each_split(demo_merged):
    for split in ("train", "test"):
        folders = sorted(p.name for p in (demo_merged.out / split).iterdir())
        assert folders == sorted(CLASSES)


def test_every_annotation_row_names_an_existing_file_with_its_sha256(demo_merged):
    ann = pd.read_csv(demo_merged.out / "annotations.csv")
    assert list(ann.columns) == ["file_name", "label", "split", "source", "source_path", "sha256"]
    on_disk = {
        p.relative_to(demo_merged.out).as_posix()
        for p in demo_merged.out.glob("*/*/*")
        if p.is_file()
    }
    assert set(ann["file_name"]) == on_disk
    for row in ann.itertuples():
        assert sha256_file(demo_merged.out / row.file_name) == row.sha256
        assert row.file_name.split("/")[:2] == [row.split, row.label]


def test_kept_file_bytes_equal_the_source_member_bytes(demo_merged, demo_sources):
    kept = demo_merged.kept
    with zipfile.ZipFile(demo_sources.kmirfan) as zf:
        for row in kept[kept["input"] == demo_sources.kmirfan.name].itertuples():
            assert (demo_merged.out / row.path).read_bytes() == zf.read(row.source_path)


def test_labels_follow_the_source_folder_names(demo_merged):
    expected = {
        "anger": "Anger",
        "disgust": "Disgust",
        "fear": "Fear",
        "happy": "Happy",
        "happiness": "Happy",
        "neutral": "Neutral",
        "surprise": "Surprised",
        "surprised": "Surprised",
    }
    kept = demo_merged.kept
    assert (kept["source_label"].map(expected) == kept["label"]).all()


def test_ck_plus_goes_to_test_and_fer_to_train_with_subject_groups(demo_merged):
    zy = demo_merged.kept[demo_merged.kept["source"] == "ziya07"]
    ck = zy[zy["source_path"].str.startswith("CK+/")]
    fer = zy[~zy["source_path"].str.startswith("CK+/")]
    assert len(ck) > 0 and set(ck["split"]) == {"test"}
    assert ck["group"].str.fullmatch(r"S\d{3}").all()
    assert len(fer) > 0 and set(fer["split"]) == {"train"}


def test_kori_without_a_split_goes_to_train(demo_merged):
    kori = demo_merged.kept[demo_merged.kept["source"] == "kori"]
    assert len(kori) > 0 and set(kori["split"]) == {"train"}


def test_output_names_are_unique_even_ignoring_case_and_hold_no_split_words(demo_merged):
    paths = demo_merged.kept["path"]
    assert paths.str.casefold().is_unique
    names = paths.str.split("/").str[-1]
    assert not names.str.contains(r"(?<![a-z])(?:train|test|val)(?![a-z])", case=False).any()
    assert names.str.startswith(tuple(f"{s}-" for s in ("kmirfan", "kori", "ziya07"))).all()


def test_the_same_inputs_give_byte_identical_annotations_and_equal_manifests(
    demo_sources, demo_merged, tmp_path
):
    merge([InputSpec(p) for p in demo_sources.paths], tmp_path / "again", MergeOptions(workers=1))
    a = (demo_merged.out / "annotations.csv").read_bytes()
    assert (tmp_path / "again" / "annotations.csv").read_bytes() == a
    m1, meta1 = read_manifest(demo_merged.out / "manifest.parquet")
    m2, meta2 = read_manifest(tmp_path / "again" / "manifest.parquet")
    pd.testing.assert_frame_equal(m1, m2)
    assert meta1 == meta2


def test_merge_does_not_depend_on_input_order(demo_sources, demo_merged, tmp_path):
    merge([InputSpec(p) for p in reversed(demo_sources.paths)], tmp_path / "r")
    assert (tmp_path / "r" / "annotations.csv").read_bytes() == (
        demo_merged.out / "annotations.csv"
    ).read_bytes()


def test_sources_are_left_byte_for_byte_unchanged(tmp_path):
    src = make_sources(tmp_path / "src", n=3, seed=5)
    before = tree_digest(tmp_path / "src")
    merge([InputSpec(p) for p in src.paths], tmp_path / "out")
    assert tree_digest(tmp_path / "src") == before


def test_manifest_metadata_records_schema_version_and_hash_recipe(demo_merged):
    _, meta = read_manifest(demo_merged.out / "manifest.parquet")
    assert meta["medata.schema_version"] == "1"
    assert "phash" in meta["medata.hash_recipe"]
    assert meta["medata.version"]


def test_a_non_empty_output_folder_is_refused_unless_replace_is_given(tmp_path, demo_sources):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        merge([InputSpec(demo_sources.kori)], out)
    assert (out / "keep.txt").read_text() == "mine"
    merge([InputSpec(demo_sources.kori)], out, MergeOptions(replace=True))
    assert not (out / "keep.txt").exists() and (out / "annotations.csv").exists()


def _disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_failure_while_writing_leaves_no_output_and_no_staging(
    tmp_path, demo_sources, monkeypatch
):
    import medata.pipeline.run
    import medata.pipeline.write

    monkeypatch.setattr(medata.pipeline.write, "write_csv", _disk_full)
    with pytest.raises(OutputError, match="disk full"):
        merge([InputSpec(demo_sources.kori)], tmp_path / "out")
    # A failed merge leaves nothing beside DIR: no DIR, no staging, no lock, no cache (only an
    # interrupted run keeps its probe cache to resume from).
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failure_while_replacing_keeps_the_previous_dataset(tmp_path, demo_sources, monkeypatch):
    import medata.pipeline.run
    import medata.pipeline.write

    out = tmp_path / "out"
    merge([InputSpec(demo_sources.kori)], out)
    before = tree_digest(out)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(medata.pipeline.write, "write_csv", boom)
    with pytest.raises(KeyboardInterrupt):
        merge([InputSpec(demo_sources.kmirfan)], out, MergeOptions(replace=True))
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.medata-cache.sqlite", "out"]


def test_an_output_folder_inside_an_input_folder_is_refused(demo_sources):
    with pytest.raises(UsageError, match="inside"):
        merge([InputSpec(demo_sources.kori)], demo_sources.kori / "out")


def test_a_mapping_file_can_bring_an_excluded_class_back(tmp_path, demo_sources):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[labels]\ncontempt = "Disgust"\n')
    res = merge(
        [InputSpec(demo_sources.ziya07)],
        tmp_path / "out",
        MergeOptions(labels=LabelMap.from_toml(mapping)),
    )
    contempt = res.manifest[res.manifest["source_label"] == "contempt"]
    assert len(contempt) > 0
    assert set(contempt["status"]) == {"kept"} and set(contempt["label"]) == {"Disgust"}


def test_a_mapping_to_an_unknown_class_is_a_usage_error(tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[labels]\nsad = "Melancholy"\n')
    with pytest.raises(UsageError, match="Melancholy"):
        LabelMap.from_toml(mapping)


def test_resplit_is_seeded_stratified_and_keeps_each_ck_subject_on_one_side(tmp_path, demo_sources):
    opts = MergeOptions(resplit=Resplit(test_size=0.25, seed=3))
    a = merge([InputSpec(p) for p in demo_sources.paths], tmp_path / "a", opts).kept
    b = merge([InputSpec(p) for p in demo_sources.paths], tmp_path / "b", opts).kept
    assert list(a["split"]) == list(b["split"])
    grouped = a[a["group"].notna()].groupby("group")["split"].nunique()
    assert (grouped == 1).all()
    share = (a["split"] == "test").groupby(a["label"]).mean()
    assert share.between(0.1, 0.45).all(), share.to_dict()


def test_resplit_keeps_the_frames_of_a_ck_subject_together_under_any_source_and_spelling(
    tmp_path,
):
    # Issue 11: a subject never spans train and test after --resplit; CK+ frames also come
    # renamed (2-digit numbers, other frame parts) and inside folders of no known layout.
    import random

    from medata.demo.synth import draw_face, encode

    rng = random.Random(1)
    root = tmp_path / "mine"
    for subject in range(24):
        for seq, cls in enumerate(("happy", "sad", "angry")):
            d = root / ("train" if subject % 2 else "test") / cls
            d.mkdir(parents=True, exist_ok=True)
            for frame in range(3):
                name = (f"S{subject:03d}_{seq + 1:03d}_{frame:08d}.png" if subject % 3
                        else f"s{subject:02d}_{seq + 1:02d}_peak{frame}.png")  # fmt: skip
                (d / name).write_bytes(encode(draw_face(cls.replace("angry", "anger"), rng), "PNG"))
    opts = MergeOptions(resplit=Resplit(test_size=0.3, seed=2), workers=1)
    kept = merge([InputSpec(root, "generic")], tmp_path / "out", opts).kept
    subject = kept["source_path"].str.extract(r"/[Ss]0*(\d+)_")[0]
    assert kept["group"].notna().all() and kept["group"].nunique() == 24
    assert (subject.groupby(kept["group"]).nunique() == 1).all()
    assert (kept["split"].groupby(subject).nunique() == 1).all()
    assert 0.1 <= (kept["split"] == "test").mean() <= 0.5


def test_a_folder_of_unknown_layout_is_ingested_by_the_generic_rule(tmp_path):
    import random

    from medata.demo.synth import draw_face, encode

    rng = random.Random(0)
    for split, cls in (("train", "Happy"), ("test", "angry"), ("train", "Surprise")):
        d = tmp_path / "mine" / split / cls
        d.mkdir(parents=True)
        (d / "face.jpg").write_bytes(encode(draw_face("happy", rng), "JPEG"))
    res = merge([InputSpec(tmp_path / "mine")], tmp_path / "out")
    assert res.inputs[0].source == "generic"
    got = sorted(zip(res.kept["split"], res.kept["label"], strict=True))
    assert got == [("test", "Anger"), ("train", "Happy"), ("train", "Surprised")]


def test_naming_the_source_kind_overrides_detection(tmp_path, demo_sources):
    res = merge([InputSpec.parse(f"generic={demo_sources.kori}")], tmp_path / "out")
    assert res.inputs[0].source == "generic" and res.inputs[0].explicit


def test_an_unknown_source_kind_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UsageError, match="kmirfan"):
        InputSpec.parse("flickr=some/where")


def test_archive_members_that_climb_out_are_rejected_and_never_written(tmp_path):
    import random

    from medata.demo.synth import draw_face, encode

    img = encode(draw_face("happy", random.Random(0)), "JPEG")
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("train/happy/ok.jpg", img)
        zf.writestr("../../escaped.jpg", img)
        zf.writestr("/abs/happy/x.jpg", img)
    res = merge([InputSpec(z)], tmp_path / "out")
    m = res.manifest.set_index("source_path")
    assert m.loc["../../escaped.jpg", "reason"] == "unsafe_path"
    assert m.loc["/abs/happy/x.jpg", "reason"] == "unsafe_path"
    assert m.loc["train/happy/ok.jpg", "status"] == "kept"
    assert not (tmp_path.parent / "escaped.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip", "out"]


def test_a_link_pointing_outside_the_source_is_rejected_not_followed(tmp_path):
    import random

    from medata.demo.synth import draw_face, encode

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(encode(draw_face("fear", random.Random(0)), "JPEG"))
    (tmp_path / "src" / "fear").mkdir(parents=True)
    (tmp_path / "src" / "fear" / "link.jpg").symlink_to(secret)
    res = merge([InputSpec(tmp_path / "src")], tmp_path / "out")
    row = res.manifest.iloc[0]
    assert (row["status"], row["reason"]) == ("rejected", "link_outside")


def test_a_file_that_is_not_a_zip_is_a_one_line_input_error(tmp_path):
    from medata.errors import InputError

    bad = tmp_path / "fake.zip"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(InputError, match="fake.zip"):
        merge([InputSpec(bad)], tmp_path / "out")


def test_a_png_named_jpg_is_kept_under_its_real_extension(tmp_path):
    import random

    from medata.demo.synth import draw_face, encode

    (tmp_path / "src" / "happy").mkdir(parents=True)
    (tmp_path / "src" / "happy" / "a.jpg").write_bytes(
        encode(draw_face("happy", random.Random(0)), "PNG")
    )
    res = merge([InputSpec(tmp_path / "src")], tmp_path / "out")
    assert res.kept.iloc[0]["format"] == "PNG"
    assert res.kept.iloc[0]["path"].endswith(".png")


def test_unused_generator_image_is_decodable():
    import random

    from PIL import Image

    from medata.demo.synth import draw_face, encode

    im = Image.open(io.BytesIO(encode(draw_face("sad", random.Random(2)), "JPEG", 48)))
    assert im.size == (48, 48)


def test_demo_sources_plant_every_problem_the_issue_lists(demo_sources: DemoSources):
    p = demo_sources.planted
    assert p.exact_copies and p.near_copies and p.leaks and p.conflicts
    assert p.corrupt and p.empty and p.debris


def test_a_failure_while_grouping_stops_the_copy_and_leaves_nothing(
    tmp_path, demo_sources, monkeypatch
):
    import threading

    import medata.pipeline.run
    import medata.pipeline.write

    monkeypatch.setattr(medata.pipeline.run, "find_groups", _disk_full)
    with pytest.raises(OutputError, match="disk full"):
        merge([InputSpec(demo_sources.kori)], tmp_path / "out", MergeOptions(workers=2))
    assert not any(t.name.startswith("medata-copy") for t in threading.enumerate())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_copying_while_grouping_gives_what_one_step_after_the_other_gives(
    tmp_path, demo_sources, monkeypatch
):
    import medata.pipeline.run
    import medata.pipeline.write

    specs = [InputSpec(demo_sources.kmirfan), InputSpec(demo_sources.kori)]
    together = merge(specs, tmp_path / "a", MergeOptions(workers=2)).manifest

    def in_turn(frame, copied, staging, options, progress, client=None):
        frame = medata.pipeline.write.copy_kept(frame, copied, staging, options.link,
                                                progress.advance)  # fmt: skip
        groups = medata.pipeline.run.find_groups(frame, options.dedupe.threshold, workers=1)
        return frame, groups

    monkeypatch.setattr(medata.pipeline.run, "_copy_while_grouping", in_turn)
    apart = merge(specs, tmp_path / "b", MergeOptions(workers=2)).manifest
    cols = ["source_path", "status", "path", "dup_group", "dup_kind", "dup_score", "detail"]
    pd.testing.assert_frame_equal(together[cols], apart[cols])
    assert together["dup_group"].notna().any()


def test_a_generated_face_depends_only_on_its_seed_not_on_what_was_drawn_before():
    import random

    import numpy as np
    from PIL import Image

    from medata.demo.synth import draw_face

    first = np.asarray(draw_face("happy", random.Random(3)))
    Image.effect_noise((8, 8), 5)  # Pillow's noise moves the C library's global random state
    draw_face("fear", random.Random(4))
    again = np.asarray(draw_face("happy", random.Random(3)))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, np.asarray(draw_face("happy", random.Random(5))))
