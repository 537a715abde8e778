"""validate: a merged dataset passes; each kind of damage is found with its code and path, exit 1,
and nothing in the dataset changes."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest

from medata import InputSpec, MergeOptions, ValidateOptions, merge, validate

from .conftest import REPO, tree_digest
from .test_cli import run


@pytest.fixture(scope="session")
def clean_dataset(demo_sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("valid") / "dataset"
    merge([InputSpec(p) for p in demo_sources.paths], out)
    return out


@pytest.fixture
def dataset(clean_dataset, tmp_path) -> Path:
    """A private copy (mtimes preserved) to damage."""
    copy = tmp_path / "dataset"
    shutil.copytree(clean_dataset, copy)
    return copy


def _csv(ds: Path) -> pd.DataFrame:
    return pd.read_csv(ds / "annotations.csv", dtype=str)


def _write_csv(ds: Path, df: pd.DataFrame) -> None:
    df.to_csv(ds / "annotations.csv", index=False)


def _a_file(ds: Path, split: str = "train", label: str = "Happy") -> str:
    ann = _csv(ds)
    return str(ann[(ann["split"] == split) & (ann["label"] == label)]["file_name"].iloc[0])


def _codes_at(result, code: str) -> list[str]:
    return list(result.findings[result.findings["code"] == code]["path"])


def _validate_unchanged(ds: Path, **kw):
    before = tree_digest(ds)
    result = validate(ds, ValidateOptions(**kw))
    assert tree_digest(ds) == before, "validate changed the dataset"
    return result


def test_a_freshly_merged_dataset_has_no_errors(clean_dataset):
    result = _validate_unchanged(clean_dataset)
    assert result.errors == 0, result.findings.to_string()
    assert result.rows == result.files > 0


def test_a_deduplicated_merge_has_no_exact_leak_conflict_or_duplicate(clean_dataset):
    codes = set(validate(clean_dataset).findings["code"])
    assert not {"exact_leak", "label_conflict", "exact_duplicate"} & codes


def test_without_dedupe_the_planted_copies_are_leak_conflict_and_duplicate_warnings(
    demo_sources, tmp_path
):
    out = tmp_path / "raw"
    merge([InputSpec(p) for p in demo_sources.paths], out, MergeOptions(dedupe=None))
    result = validate(out)
    assert {"exact_leak", "label_conflict", "exact_duplicate"} <= set(result.findings["code"])
    assert result.errors == 0


def test_an_unchanged_dataset_is_not_decoded_again_unless_deep(clean_dataset):
    assert validate(clean_dataset).decoded == 0
    assert validate(clean_dataset, ValidateOptions(deep=True)).decoded > 0


def test_a_deleted_file_is_reported_missing_with_exit_status_1(dataset):
    victim = _a_file(dataset)
    (dataset / victim).unlink()
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "file_missing") == [victim]
    r = run("validate", str(dataset), "-q")
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_an_added_file_without_a_row_is_an_orphan(dataset):
    src = dataset / _a_file(dataset)
    shutil.copy(src, dataset / "train" / "Fear" / "extra.jpg")
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "orphan_file") == ["train/Fear/extra.jpg"]
    assert result.errors >= 1


def test_a_file_moved_to_another_class_folder_is_missing_there_and_orphan_here(dataset):
    victim = _a_file(dataset)
    moved = victim.replace("/Happy/", "/Fear/")
    (dataset / victim).rename(dataset / moved)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "file_missing") == [victim]
    assert _codes_at(result, "orphan_file") == [moved]


def test_a_label_edited_in_the_csv_disagrees_with_the_folder(dataset):
    ann = _csv(dataset)
    victim = ann.index[ann["label"] == "Happy"][0]
    ann.loc[victim, "label"] = "Anger"
    _write_csv(dataset, ann)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "label_mismatch") == [ann.loc[victim, "file_name"]]


def test_a_split_edited_in_the_csv_disagrees_with_the_top_folder(dataset):
    ann = _csv(dataset)
    victim = ann.index[ann["split"] == "train"][0]
    ann.loc[victim, "split"] = "test"
    _write_csv(dataset, ann)
    assert _codes_at(_validate_unchanged(dataset), "split_mismatch") == [
        ann.loc[victim, "file_name"]
    ]


def test_a_truncated_jpeg_is_found(dataset):
    victim = next(p for p in _csv(dataset)["file_name"] if p.endswith(".jpg"))
    data = (dataset / victim).read_bytes()
    (dataset / victim).write_bytes(data[: len(data) // 2])
    assert _codes_at(_validate_unchanged(dataset), "truncated") == [victim]


def test_a_path_climbing_out_of_the_dataset_is_reported_and_never_opened(dataset, tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"not for you")
    ann = _csv(dataset)
    ann.loc[0, "file_name"] = "../secret.jpg"
    ann.loc[1, "file_name"] = str(outside)
    _write_csv(dataset, ann)
    atime = outside.stat().st_atime_ns
    result = _validate_unchanged(dataset)
    assert sorted(_codes_at(result, "path_escapes")) == sorted(["../secret.jpg", str(outside)])
    assert outside.stat().st_atime_ns == atime


def test_a_link_pointing_outside_the_dataset_is_an_error_not_followed(dataset, tmp_path):
    victim = _a_file(dataset)
    outside = tmp_path / "elsewhere.jpg"
    shutil.copy(dataset / victim, outside)
    (dataset / victim).unlink()
    (dataset / victim).symlink_to(outside)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "path_escapes") == [victim]
    followed = validate(dataset, ValidateOptions(follow_links=True))
    assert victim not in _codes_at(followed, "path_escapes")


def test_an_image_replaced_by_text_is_not_an_image(dataset):
    victim = _a_file(dataset)
    (dataset / victim).write_text("<html>Access denied</html>")
    assert _codes_at(_validate_unchanged(dataset), "not_image") == [victim]


def test_a_duplicated_row_is_reported_once(dataset):
    ann = _csv(dataset)
    ann = pd.concat([ann, ann.iloc[[3]]], ignore_index=True)
    _write_csv(dataset, ann)
    assert _codes_at(_validate_unchanged(dataset), "duplicate_row") == [ann.iloc[3]["file_name"]]


def test_one_changed_byte_is_found_by_its_sha256(dataset):
    victim = _a_file(dataset)
    data = bytearray((dataset / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (dataset / victim).write_bytes(bytes(data))
    result = _validate_unchanged(dataset)
    assert victim in _codes_at(result, "sha256_changed") + _codes_at(
        result, "truncated"
    ) + _codes_at(result, "undecodable")
    assert result.errors >= 1


def test_a_changed_byte_with_its_mtime_restored_needs_deep_to_be_found(dataset):
    victim = _a_file(dataset)
    st = os.stat(dataset / victim)
    data = bytearray((dataset / victim).read_bytes())
    data[-3] ^= 0x01
    (dataset / victim).write_bytes(bytes(data))
    os.utime(dataset / victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert victim not in _codes_at(validate(dataset), "sha256_changed")
    deep = validate(dataset, ValidateOptions(deep=True))
    assert victim in _codes_at(deep, "sha256_changed") + _codes_at(deep, "truncated")


def test_a_csv_with_bom_and_crlf_line_ends_is_fine(dataset):
    text = (dataset / "annotations.csv").read_text(encoding="utf-8")
    (dataset / "annotations.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert _validate_unchanged(dataset).errors == 0


def test_a_csv_that_is_not_utf8_is_an_encoding_error(dataset):
    text = (dataset / "annotations.csv").read_text(encoding="utf-8")
    (dataset / "annotations.csv").write_bytes(text.encode() + "Ärger,é\n".encode("latin-1"))
    assert _codes_at(_validate_unchanged(dataset), "csv_encoding") == ["annotations.csv"]


def test_a_missing_csv_is_an_error(dataset):
    (dataset / "annotations.csv").unlink()
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "csv_missing") == ["annotations.csv"]


def test_a_missing_column_and_an_unknown_one_are_reported(dataset):
    ann = _csv(dataset).drop(columns=["sha256"]).assign(notes="x")
    _write_csv(dataset, ann)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "column_missing") == ["annotations.csv"]
    assert _codes_at(result, "column_unknown") == ["annotations.csv"]


def test_an_unknown_label_and_split_value_are_reported(dataset):
    ann = _csv(dataset)
    ann.loc[0, "label"] = "Sad"
    ann.loc[1, "split"] = "validation"
    _write_csv(dataset, ann)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "unknown_label") == [ann.loc[0, "file_name"]]
    assert _codes_at(result, "unknown_split") == [ann.loc[1, "file_name"]]


def test_debris_is_a_warning_that_fails_only_with_strict(dataset):
    (dataset / "train" / "Anger" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (dataset / "train" / "Thumbs.db").write_bytes(b"x")
    result = _validate_unchanged(dataset)
    assert sorted(_codes_at(result, "debris")) == ["train/Anger/.DS_Store", "train/Thumbs.db"]
    assert run("validate", str(dataset), "-q").returncode == 0
    assert run("validate", str(dataset), "-q", "--strict").returncode == 1


def test_an_empty_class_folder_and_an_unknown_one_are_reported(dataset):
    for p in (dataset / "test" / "Fear").iterdir():
        p.unlink()
    ann = _csv(dataset)
    _write_csv(dataset, ann[~ann["file_name"].str.startswith("test/Fear/")])
    (dataset / "train" / "Sad").mkdir()
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "empty_class_folder") == ["test/Fear/"]
    assert _codes_at(result, "unknown_class_folder") == ["train/Sad/"]


def test_split_words_in_file_names_are_a_warning(dataset):
    victim = _a_file(dataset)
    renamed = victim.rsplit("/", 1)[0] + "/test_image_1.jpg"
    (dataset / victim).rename(dataset / renamed)
    ann = _csv(dataset)
    ann.loc[ann["file_name"] == victim, "file_name"] = renamed
    _write_csv(dataset, ann)
    result = _validate_unchanged(dataset)
    assert _codes_at(result, "split_word_in_name") == [renamed]
    assert _codes_at(result, "not_in_manifest") == [renamed]


def test_an_extension_that_disagrees_with_the_format_is_a_warning(dataset):
    ann = _csv(dataset)
    victim = next(p for p in ann["file_name"] if p.endswith(".png"))
    renamed = victim[:-4] + ".jpg"
    (dataset / victim).rename(dataset / renamed)
    ann.loc[ann["file_name"] == victim, "file_name"] = renamed
    _write_csv(dataset, ann)
    assert _codes_at(_validate_unchanged(dataset), "extension_mismatch") == [renamed]


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    iend = b"\x00\x00\x00\x00IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + iend)  # fmt: skip


def test_a_decompression_bomb_is_refused_before_decoding(dataset):
    ann = _csv(dataset)
    victim = next(p for p in ann["file_name"] if p.endswith(".png"))
    (dataset / victim).write_bytes(_png_header(50_000, 50_000))
    assert _codes_at(_validate_unchanged(dataset), "too_large") == [victim]


def test_fail_fast_stops_at_the_first_error(dataset):
    for victim in list(_csv(dataset)["file_name"])[:5]:
        (dataset / victim).unlink()
    lazy = validate(dataset)
    fast = validate(dataset, ValidateOptions(fail_fast=True))
    assert len(_codes_at(lazy, "file_missing")) == 5
    assert fast.errors == 1 and fast.stopped_early


def test_json_format_lists_every_finding_and_the_verdict(dataset):
    (dataset / _a_file(dataset)).unlink()
    r = run("validate", str(dataset), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "fail" and doc["errors"] == 1
    assert [f["code"] for f in doc["findings"] if f["severity"] == "error"] == ["file_missing"]


def test_github_format_prints_one_annotation_per_finding(dataset):
    victim = _a_file(dataset)
    (dataset / victim).unlink()
    r = run("validate", str(dataset), "--format", "github")
    lines = [line for line in r.stdout.splitlines() if line.startswith("::error")]
    assert len(lines) == 1 and "title=file_missing" in lines[0] and victim in lines[0]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_report_file_holds_the_full_findings_table(dataset, tmp_path, suffix):
    (dataset / _a_file(dataset)).unlink()
    report = tmp_path / f"report{suffix}"
    r = run("validate", str(dataset), "-q", "--report", str(report))
    assert r.returncode == 1
    df = pd.read_csv(report) if suffix == ".csv" else pd.read_parquet(report)
    assert list(df.columns) == ["code", "severity", "path", "detail", "line", "expected", "actual"]
    assert "file_missing" in set(df["code"])


def test_a_missing_dataset_folder_is_a_usage_error_with_status_2(tmp_path):
    r = run("validate", str(tmp_path / "nope"))
    assert r.returncode == 2 and r.stderr.startswith("Error:") and "Traceback" not in r.stderr


def test_against_a_reference_lists_missing_extra_and_changed_files(dataset, tmp_path):
    from medata.checks.reference import reference_from_manifest
    from medata.manifest import read_manifest

    manifest, _ = read_manifest(dataset / "manifest.parquet")
    ref = reference_from_manifest(manifest)
    kept = ref[ref["status"] == "kept"].index
    ref = ref.drop(index=kept[0])  # the dataset now has one file the reference lacks
    ref.loc[kept[1], "sha256"] = "0" * 64  # and one with other bytes
    ghost = ref.loc[kept[2]].copy()
    ghost["source_path"] = "Micro_Expressions/train/anger/ghost.jpg"
    ref = pd.concat([ref, ghost.to_frame().T], ignore_index=True)
    ref.to_parquet(tmp_path / "ref.parquet")
    result = validate(dataset, ValidateOptions(against=tmp_path / "ref.parquet"))
    assert len(_codes_at(result, "reference_extra")) == 1
    assert len(_codes_at(result, "reference_changed")) == 1
    assert _codes_at(result, "reference_missing") == [
        f"{ghost['source']}:Micro_Expressions/train/anger/ghost.jpg"
    ]


@pytest.mark.parametrize("fixture", ["real_merged", "real_deduped"])
def test_the_real_archive_merged_matches_the_bundled_reference_manifest(fixture, request):
    merged = request.getfixturevalue(fixture)
    ref = REPO / "manifests" / "kmirfan-micro-expressions-2022-11.parquet"
    result = validate(merged.out, ValidateOptions(against=ref))
    assert result.errors == 0, result.findings.head(20).to_string()
    ref_df = pd.read_parquet(ref)
    assert len(ref_df) == 9460 and int((ref_df["status"] == "kept").sum()) == 7761


def test_the_real_archive_merged_without_dedupe_shows_its_leaks_and_conflicts(real_merged):
    result = validate(real_merged.out)
    leaks = _codes_at(result, "exact_leak")
    assert len(leaks) > 0 and all(p.startswith("test/") for p in leaks)
    assert len(_codes_at(result, "label_conflict")) > 0


def _readme_ci_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- ci-examples -->")[1].split("<!-- /ci-examples -->")[0]
    commands = []
    for line in block.splitlines():
        line = line.strip()
        for prefix in ("run: ", "entry: "):
            if line.startswith(prefix + "medata "):
                commands.append(line[len(prefix) :])
    return commands


def test_the_readme_shows_a_github_step_and_a_pre_commit_hook():
    assert len(_readme_ci_commands()) == 2


@pytest.mark.parametrize("command", _readme_ci_commands())
def test_the_ci_commands_in_the_readme_pass_on_a_merged_dataset(command, clean_dataset, tmp_path):
    shutil.copytree(clean_dataset, tmp_path / "dataset")
    r = run(*command.split()[1:], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_csv_without_its_header_row_reports_the_missing_columns(dataset):
    lines = (dataset / "annotations.csv").read_text().splitlines()
    (dataset / "annotations.csv").write_text("\n".join(lines[1:]) + "\n")
    result = _validate_unchanged(dataset)
    assert len(_codes_at(result, "column_missing")) >= 1
    assert result.errors >= 1


def test_quoted_commas_and_newlines_in_fields_are_read_correctly(dataset):
    ann = _csv(dataset)
    ann.loc[0, "source_path"] = 'odd, "quoted"\nname.jpg'
    _write_csv(dataset, ann)
    result = _validate_unchanged(dataset)
    assert result.errors == 0, result.findings.to_string()
    assert result.rows == len(ann)


def test_a_label_mismatch_names_the_csv_line_and_what_was_expected_and_found(dataset):
    ann = _csv(dataset)
    k = int(ann.index[ann["label"] == "Happy"][0])
    ann.loc[k, "label"] = "Fear"
    ann.to_csv(dataset / "annotations.csv", index=False)
    f = validate(dataset).findings
    row = f[f["code"] == "label_mismatch"]
    assert len(row) == 1
    assert (int(row["line"].iloc[0]), row["expected"].iloc[0], row["actual"].iloc[0]) == (
        k + 2, "Fear", "Happy")  # fmt: skip


def test_the_same_problem_has_the_same_code_in_the_manifest_and_in_validate(demo_sources, tmp_path):
    from medata.problems import FATES, Code

    src = tmp_path / "src"
    shutil.copytree(demo_sources.kori, src)
    (src / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    out = tmp_path / "out"
    m = merge([InputSpec(src)], out, MergeOptions(workers=1)).manifest
    assert set(m["reason"].dropna()) <= {c.value for c in FATES}
    assert m.loc[m["source_path"] == ".DS_Store", "reason"].tolist() == [Code.DEBRIS.value]
    (out / "train" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    codes = validate(out).findings.set_index("path")["code"]
    assert codes["train/.DS_Store"] == Code.DEBRIS.value
