"""Untrusted inputs, checkpoints, names and manifests (issue 10, items 1-6): nothing foreign runs,
nothing outside the dataset or special is opened, sizes are capped as read, names stay data."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medata import InputSpec, MergeOptions, merge
from medata.demo.synth import draw_face, encode
from medata.guard import Refused, read_file, read_inside
from medata.output import neutralise_text, read_csv, unneutralise_text, write_csv
from medata.problems import Code

from .test_cli import run

# Any raw control character (C0 except newline and tab, DEL, C1) on a terminal is a failure.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def face(seed: int, expression: str = "happy", fmt: str = "JPEG") -> bytes:
    return encode(draw_face(expression, random.Random(seed)), fmt, size=80, mode="RGB")


def generic_source(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return root


def small_dataset(tmp_path: Path, n: int = 3) -> Path:
    """A merged dataset with every class in both splits (generated faces)."""
    files = {}
    pairs = [("anger", "anger"), ("disgust", "disgust"), ("fear", "fear"), ("happy", "happy"),
             ("neutral", "neutral"), ("surprise", "surprised")]  # fmt: skip
    for k, (folder, expr) in enumerate(pairs):
        for i in range(n):
            files[f"train/{folder}/{folder}{i}.jpg"] = face(100 * k + i, expr)
            files[f"test/{folder}/{folder}{i}.jpg"] = face(100 * k + 50 + i, expr)
    src = generic_source(tmp_path / "src", files)
    out = tmp_path / "ds"
    merge([InputSpec(src, "generic")], out, MergeOptions(workers=1))
    return out


# 1. Checkpoints


class _Payload:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_checkpoint_that_runs_code_when_unpickled_is_refused_and_runs_nothing(tmp_path):
    torch = pytest.importorskip("torch", reason="the train extra is part of make test")
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    torch.save({"classes": ["Anger"], "state_dict": {}, "payload": _Payload(str(marker))}, evil)
    image = tmp_path / "x.jpg"
    image.write_bytes(face(1))
    r = run("predict", str(evil), str(image))
    assert r.returncode == 2, r.stderr
    assert not marker.exists()
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


# 2. One guard for every reader


@pytest.mark.parametrize("rel", ["../outside.jpg", "/etc/passwd", "C:/x.jpg", "a/../../x.jpg",
                                 "train/Anger/../../../x.jpg"])  # fmt: skip
def test_the_guard_refuses_paths_that_leave_the_dataset(tmp_path, rel):
    (tmp_path / "ds").mkdir()
    (tmp_path / "outside.jpg").write_bytes(b"secret")
    with pytest.raises(Refused) as info:
        read_inside(tmp_path / "ds", rel)
    assert info.value.reason is Code.UNSAFE_PATH


def test_the_guard_refuses_a_link_that_leads_out_of_the_dataset(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    (tmp_path / "ds" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    with pytest.raises(Refused) as info:
        read_inside(tmp_path / "ds", "link.jpg")
    assert info.value.reason is Code.LINK_OUTSIDE


def test_train_baseline_never_opens_rows_outside_the_dataset_or_special_files(tmp_path):
    pytest.importorskip("torch", reason="the train extra is part of make test")
    ds = small_dataset(tmp_path)
    # Each of these would hang (FIFO) or leak a file outside if it were opened.
    os.mkfifo(tmp_path / "outside-fifo.jpg")
    os.mkfifo(ds / "train" / "Happy" / "fifo.jpg")
    (ds / "train" / "Happy" / "out-link.jpg").symlink_to(tmp_path / "outside-fifo.jpg")
    ann = read_csv(ds / "annotations.csv")
    extra = pd.DataFrame({
        "file_name": ["../outside-fifo.jpg", str(tmp_path / "outside-fifo.jpg"),
                      "train/Happy/fifo.jpg", "train/Happy/out-link.jpg"],
        "label": "Happy", "split": "train", "source": "generic", "source_path": "x",
        "sha256": "0" * 64,
    })  # fmt: skip
    write_csv(pd.concat([ann, extra], ignore_index=True), ds / "annotations.csv")
    (ds / "manifest.parquet").unlink()  # train from annotations.csv
    r = run("train-baseline", str(ds), "--quick", "--out", str(tmp_path / "run"), "--json")
    assert r.returncode == 0, r.stderr
    assert '"skipped_unreadable": 4' in r.stdout


# 3. No command blocks on a special file


@pytest.mark.parametrize("follow", [False, True])
def test_validate_reports_a_fifo_in_the_dataset_instead_of_hanging(tmp_path, follow):
    ds = small_dataset(tmp_path)
    victim = next((ds / "train" / "Happy").iterdir())
    victim.unlink()
    os.mkfifo(victim)
    args = ["validate", str(ds), "--format", "json"] + (["--follow-links"] if follow else [])
    r = run(*args)  # the helper's timeout fails the test if validate blocks
    assert r.returncode == 1
    assert "FIFO" in r.stdout and victim.name in r.stdout


def test_a_fifo_in_a_source_folder_is_a_manifest_row_not_a_hang(tmp_path):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(1)})
    os.mkfifo(src / "train" / "happy" / "b.jpg")
    result = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1))
    row = result.manifest.set_index("source_path").loc["train/happy/b.jpg"]
    assert row["status"] == "rejected" and "FIFO" in row["detail"]


# 4. Bytes capped as read


def test_a_sparse_two_gib_jpg_in_a_folder_is_too_large_and_never_read(tmp_path):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(1)})
    with open(src / "train" / "happy" / "huge.jpg", "wb") as fh:
        fh.truncate(2 * 1024**3)
    result = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1))
    row = result.manifest.set_index("source_path").loc["train/happy/huge.jpg"]
    assert (row["status"], row["reason"]) == ("rejected", "too_large")
    assert "--max-file-mb" in row["detail"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_members_over_the_limit_are_counted_as_read_and_refused(tmp_path):
    noise = random.Random(0).randbytes(3 * 1024 * 1024)
    archive = _zip(tmp_path / "in.zip", {
        "train/happy/ok.jpg": face(1),
        "train/happy/zeros.jpg": bytes(3 * 1024 * 1024),  # inflates 1000x: declared 3 MiB only
        "train/happy/noise.jpg": noise,
    })  # fmt: skip
    options = MergeOptions(workers=1, max_file_bytes=1024 * 1024)
    m = merge([InputSpec(archive, "generic")], tmp_path / "out", options).manifest
    by = m.set_index("source_path")
    assert by.loc["train/happy/zeros.jpg", "reason"] == "compression_bomb"
    assert by.loc["train/happy/noise.jpg", "reason"] == "too_large"
    assert by.loc["train/happy/ok.jpg", "status"] == "kept"


def _overlapping_zip(path: Path, copies: int) -> Path:
    """One real member plus ``copies`` central-directory entries pointing at its data."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/happy/a.jpg", face(2))
    data = buf.getvalue()
    eocd = data.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    entry = data[cd_offset : cd_offset + cd_size]
    entries = [entry] + [entry.replace(b"train/happy/a.jpg", f"train/happy/{k}.jpg".encode())
                         for k in range(copies)]  # fmt: skip
    cd = b"".join(entries)
    n = len(entries)
    tail = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), cd_offset, 0)
    path.write_bytes(data[:cd_offset] + cd + tail)
    return path


def test_zip_members_that_overlap_one_another_are_refused_not_inflated_again(tmp_path):
    archive = _overlapping_zip(tmp_path / "overlap.zip", copies=5)
    m = merge([InputSpec(archive, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert (m["reason"] == "compression_bomb").sum() == 5
    assert (m["status"] == "kept").sum() == 1


# 5. Names are data

EVIL_NAMES = ["esc\x1b[31mred\x1b[0m", "osc\x1b]8;;x\x07link", "rich[/]markup[bold]",
              "cr\rhere", "lf\nhere", "csi\x9bthere", "=HYPERLINK(1)", "'quoted"]  # fmt: skip


@pytest.fixture(scope="module")
def evil_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("evil")
    files = {}
    for k, name in enumerate(EVIL_NAMES):
        files[f"train/happy/{name}.jpg"] = face(300 + k)
        files[f"test/happy/{name}.jpg"] = face(400 + k)
    for k, cls in enumerate(["anger", "disgust", "fear", "neutral", "surprise"]):
        for i in range(2):
            files[f"train/{cls}/{cls}{i}.jpg"] = face(500 + 10 * k + i, "anger")
            files[f"test/{cls}/{cls}{i}.jpg"] = face(600 + 10 * k + i, "fear")
    files["train/happy/[/]folder\x1b[2J/x.jpg"] = face(999)
    files["train/[bold]odd\x1b[31m class\r/x.jpg"] = face(998)  # an unknown class folder
    src = generic_source(root / "src", files)
    return src, root


def test_names_with_control_characters_and_markup_read_back_exactly_from_annotations(
    evil_dataset,
):
    src, root = evil_dataset
    out = root / "csv-check"
    merge([InputSpec(src, "generic")], out, MergeOptions(workers=1))
    ann = read_csv(out / "annotations.csv")
    written = set(ann["source_path"])
    for name in EVIL_NAMES:
        assert f"train/happy/{name}.jpg" in written


def test_no_command_writes_a_raw_control_character_to_the_terminal(evil_dataset, tmp_path):
    src, _ = evil_dataset
    out = tmp_path / "merged"
    outputs = [run("merge", str(src), "--out", str(out))]
    assert outputs[0].returncode == 0, outputs[0].stderr
    (out / "train" / "Happy" / "orphan\x1b[31m\n[b]x.jpg").write_bytes(face(5))
    outputs.append(run("validate", str(out)))
    outputs.append(run("validate", str(out), "--format", "github"))
    outputs.append(run("validate", str(out), "--format", "json"))
    outputs.append(run("dedupe", str(out), "--no-sheets", "--source", str(src)))
    outputs.append(run("stats", str(out)))
    outputs.append(run("merge", str(src / "train" / "happy" / "cr\rhere.jpg"), "--out",
                       str(tmp_path / "x\x1b[31m")))  # an error naming an evil path  # fmt: skip
    for r in outputs:
        assert r.returncode in (0, 1, 2), r.stderr
        assert "Traceback" not in r.stderr
        assert not RAW_CONTROL.search(r.stdout + r.stderr), (r.args, r.stdout, r.stderr)
    # The names are still shown, escaped: the merge table names the odd class folder, validate
    # the orphan file.
    assert "odd\\x1b[31m class\\r" in outputs[0].stdout
    assert "orphan\\x1b[31m\\n[b]x.jpg" in outputs[1].stdout
    assert "orphan\\x1b[31m%0A[b]x.jpg" in outputs[2].stdout


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_the_formula_quote_round_trips_for_any_text(text):
    assert unneutralise_text(neutralise_text(text)) == text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), min_size=1,
                max_size=8))  # fmt: skip
def test_any_cell_written_to_a_csv_reads_back_exactly(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    cells = [c if c.strip() else f"x{c}x" for c in cells]  # an all-blank cell reads as NA
    write_csv(pd.DataFrame({"a": cells, "b": list(reversed(cells))}), path)
    back = read_csv(path)
    assert back["a"].tolist() == cells and back["b"].tolist() == list(reversed(cells))


# 6. No globbing on user names


def test_an_out_name_with_glob_characters_never_touches_another_outputs_files(tmp_path):
    src = generic_source(tmp_path / "src", {"train/happy/a.jpg": face(1)})
    other = tmp_path / ".exp1.medata-staging-4242"  # another output's staging folder
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    old = tmp_path / ".exp1.medata-old-4242"
    old.mkdir()
    merge([InputSpec(src, "generic")], tmp_path / "exp[1]", MergeOptions(workers=1))
    assert (other / "precious.txt").read_text() == "keep me"
    assert old.is_dir() and not (tmp_path / "exp1").exists()


def test_reading_a_file_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "f")
    with pytest.raises(Refused, match="FIFO"):
        read_file(tmp_path / "f")


def test_symlinked_dataset_shares_nothing_with_the_outside(tmp_path):
    # A dataset folder that is itself a link is fine: the guard compares resolved paths.
    ds = small_dataset(tmp_path)
    link = tmp_path / "ds-link"
    link.symlink_to(ds)
    rel = read_csv(ds / "annotations.csv")["file_name"].iloc[0]
    assert read_inside(link, rel) == (ds / rel).read_bytes()
    shutil.rmtree(ds)


def test_train_baseline_refuses_a_fifo_in_place_of_annotations_csv(tmp_path):
    pytest.importorskip("torch", reason="the train extra is part of make test")
    ds = small_dataset(tmp_path)
    (ds / "manifest.parquet").unlink()
    (ds / "annotations.csv").unlink()
    os.mkfifo(ds / "annotations.csv")
    r = run("train-baseline", str(ds), "--quick", "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "FIFO" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_fifo_given_as_an_input_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "in.zip")
    r = run("merge", str(tmp_path / "in.zip"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "FIFO" in r.stderr and len(r.stderr.strip().splitlines()) == 1
