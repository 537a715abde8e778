"""The real kmirfan download: the known facts listed in ../shared/data/README.md."""

from __future__ import annotations

import hashlib
import zipfile

import pandas as pd


def test_every_one_of_the_9460_archive_files_is_a_manifest_row(real_merged):
    assert len(real_merged.manifest) == 9460
    assert real_merged.manifest["source_path"].is_unique


def test_the_archive_is_detected_as_kmirfan(real_merged):
    assert [d.source for d in real_merged.inputs] == ["kmirfan"]


def test_6231_train_and_1530_test_images_are_kept_before_deduplication(real_merged):
    kept = real_merged.kept
    assert (kept["split"] == "train").sum() == 6231
    assert (kept["split"] == "test").sum() == 1530


def test_the_1699_sadness_images_are_excluded_with_their_reason(real_merged):
    m = real_merged.manifest
    excluded = m[m["status"] == "excluded"]
    assert len(excluded) == 1699
    assert set(excluded["source_label"]) == {"sadness"}
    assert set(excluded["reason"]) == {"label_excluded"}


def test_nothing_in_the_real_archive_is_rejected_and_all_are_80x80(real_merged):
    m = real_merged.manifest
    assert (m["status"] != "rejected").all()
    probed = m[m["status"] == "kept"]
    assert (probed["width"] == 80).all() and (probed["height"] == 80).all()
    assert set(probed["mode"]) == {"RGB"}


def test_every_kept_file_has_the_sha256_of_its_source_member(real_merged, real_zip):
    kept = real_merged.kept
    with zipfile.ZipFile(real_zip) as zf:
        for row in kept.itertuples():
            member = hashlib.sha256(zf.read(row.source_path)).hexdigest()
            assert member == row.sha256
            assert (
                hashlib.sha256((real_merged.out / row.path).read_bytes()).digest().hex() == member
            )


def test_per_class_counts_match_the_archive_readme(real_merged):
    kept = real_merged.kept
    counts = kept.groupby(["split", "source_label"]).size()
    expected = {
        ("train", "anger"): 1411,
        ("train", "disgust"): 662,
        ("train", "fear"): 479,
        ("train", "happiness"): 1950,
        ("train", "neutral"): 644,
        ("train", "surprise"): 1085,
        ("test", "anger"): 350,
        ("test", "disgust"): 160,
        ("test", "fear"): 120,
        ("test", "happiness"): 480,
        ("test", "neutral"): 160,
        ("test", "surprise"): 260,
    }
    assert counts.to_dict() == expected


def test_the_real_archive_has_117_byte_identical_groups_in_the_manifest(real_merged, real_zip):
    # Hashes over every file (kept or excluded), as the README counts them.
    m = real_merged.manifest
    sizes = m.groupby("sha256").size()
    groups = sizes[sizes > 1]
    assert len(groups) == 117 and int(groups.sum()) == 236
    assert isinstance(m, pd.DataFrame)
