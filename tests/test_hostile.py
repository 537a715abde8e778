"""Hostile inputs and faults: every input file ends as a row with a reason, nothing is written
outside DIR, and a killed or concurrent merge never leaves a half-written dataset."""

from __future__ import annotations

import fcntl
import io
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from medata import InputSpec, MergeOptions, merge
from medata.demo.synth import draw_face, encode, make_sources
from medata.errors import InputError, OutputError

from .conftest import REPO, tree_digest


def _face(mode: str = "RGB") -> Image.Image:
    return draw_face("happy", random.Random(1)).convert(mode)


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _merge_one(tmp_path: Path, name: str, data: bytes):
    src = tmp_path / "src" / "happy"
    src.mkdir(parents=True)
    (src / name).write_bytes(data)
    res = merge([InputSpec(tmp_path / "src")], tmp_path / "out", MergeOptions(dedupe=None))
    return res.manifest.iloc[0]


@pytest.mark.parametrize(
    "name,make",
    [
        ("cmyk.jpg", lambda: _save(_face("CMYK"), "JPEG")),
        ("grey16.png", lambda: _save(_face("L").convert("I;16"), "PNG")),
        ("palette.png", lambda: _save(_face("P"), "PNG", transparency=0)),
        (
            "animated.gif",
            lambda: _save(_face("P"), "GIF", save_all=True, append_images=[_face("P").rotate(5)]),
        ),  # fmt: skip
        ("large.jpg", lambda: _save(_face("RGB").resize((6000, 4000)), "JPEG", quality=30)),
    ],
)
def test_unusual_but_valid_images_are_kept_with_their_mode_and_size(tmp_path, name, make):
    data = make()
    row = _merge_one(tmp_path, name, data)
    assert row["status"] == "kept", row["detail"]
    with Image.open(io.BytesIO(data)) as im:
        assert (row["width"], row["height"], row["mode"]) == (im.width, im.height, im.mode)


def test_text_saved_as_jpg_is_rejected_as_undecodable(tmp_path):
    row = _merge_one(tmp_path, "page.jpg", b"<html><body>Not found</body></html>")
    assert (row["status"], row["reason"]) == ("rejected", "undecodable")


def test_a_truncated_png_is_rejected(tmp_path):
    data = _save(_face(), "PNG")
    row = _merge_one(tmp_path, "cut.png", data[: len(data) // 2])
    assert row["status"] == "rejected" and row["reason"] in ("truncated", "undecodable")


def test_a_folder_named_like_an_image_is_walked_not_read(tmp_path):
    (tmp_path / "src" / "happy" / "x.jpg").mkdir(parents=True)
    (tmp_path / "src" / "happy" / "x.jpg" / "inner.jpg").write_bytes(encode(_face(), "JPEG"))
    res = merge([InputSpec(tmp_path / "src")], tmp_path / "out")
    assert list(res.manifest["source_path"]) == ["happy/x.jpg/inner.jpg"]
    assert res.manifest.iloc[0]["status"] == "kept"


def test_odd_names_give_safe_unique_output_names(tmp_path):
    src = tmp_path / "src" / "happy"
    src.mkdir(parents=True)
    rng = random.Random(2)
    names = ["Ärger Gesicht 1.jpg", "a" * 200 + ".jpg", "Face.JPG", "face.jpg", "日本.jpg"]
    for n in names:
        (src / n).write_bytes(encode(draw_face("happy", rng), "JPEG"))
    res = merge([InputSpec(tmp_path / "src")], tmp_path / "out", MergeOptions(dedupe=None))
    paths = list(res.kept["path"])
    assert len(paths) == len(names)
    assert len({p.casefold() for p in paths}) == len(paths)
    assert all(p.isascii() and len(p) < 120 for p in paths)
    assert all((tmp_path / "out" / p).exists() for p in paths)


def test_a_zip_with_duplicate_member_names_keeps_a_row_for_each(tmp_path):
    z = tmp_path / "dup.zip"
    rng = random.Random(3)
    with zipfile.ZipFile(z, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("happy/a.jpg", encode(draw_face("happy", rng), "JPEG"))
        zf.writestr("happy/a.jpg", encode(draw_face("happy", rng), "JPEG"))
    res = merge([InputSpec(z)], tmp_path / "out", MergeOptions(dedupe=None))
    assert len(res.manifest) == 2
    assert res.kept["sha256"].nunique() == 2 and res.kept["path"].is_unique


def test_a_zip_inside_the_zip_is_recorded_not_opened(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("happy/a.jpg", encode(_face(), "JPEG"))
    z = tmp_path / "outer.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("extra/inner.zip", inner.getvalue())
        zf.writestr("happy/b.jpg", encode(_face(), "JPEG"))
    m = merge([InputSpec(z)], tmp_path / "out").manifest.set_index("source_path")
    assert (m.loc["extra/inner.zip", "status"], m.loc["extra/inner.zip", "reason"]) == (
        "excluded", "nested_archive")  # fmt: skip


def test_a_truncated_zip_is_a_one_line_error_naming_it(tmp_path):
    src = make_sources(tmp_path / "s", n=2, seed=0)
    data = src.kmirfan.read_bytes()
    bad = tmp_path / "cut.zip"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.zip"):
        merge([InputSpec(bad)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_second_merge_into_the_same_folder_refuses_while_the_first_runs(tmp_path):
    src = make_sources(tmp_path / "s", n=2, seed=0)
    out = tmp_path / "out"
    with open(tmp_path / ".out.medata-lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputError, match="another medata run"):
            merge([InputSpec(src.kori)], out)
    assert not out.exists()


def _no_strays(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".medata-" in p.name and "lock" not in p.name)


def test_a_merge_killed_at_random_moments_leaves_no_half_dataset(tmp_path):
    src = make_sources(tmp_path / "s", n=6, seed=0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "medata", "merge", *map(str, src.paths), "--out", str(out),
           "--replace", "-q", "--workers", "1"]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=300)
    complete = tree_digest(out)
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for _ in range(8):
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        time.sleep(rng.uniform(0.3, 2.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if out.exists():  # absent, or the previous complete dataset: never a mix
            assert tree_digest(out) == complete
    subprocess.run(cmd, check=True, timeout=300)
    assert tree_digest(out) == complete
    assert _no_strays(tmp_path) == []


def test_formula_like_cells_are_neutralised_in_csv_and_read_back_by_validate(tmp_path):
    from medata import validate

    src = tmp_path / "src" / "=HYPERLINK(evil)" / "happy"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(encode(_face(), "JPEG"))
    for prefix in ("+1", "-1", "@x"):
        d = tmp_path / "src" / prefix / "fear"
        d.mkdir(parents=True)
        (d / "b.jpg").write_bytes(encode(draw_face("fear", random.Random(len(prefix))), "JPEG"))
    out = tmp_path / "out"
    merge([InputSpec.parse(f"generic={tmp_path / 'src'}")], out, MergeOptions(dedupe=None))
    text = (out / "annotations.csv").read_text()
    cells = [c for line in text.splitlines()[1:] for c in line.split(",")]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    result = validate(out)
    assert result.errors == 0, result.findings.to_string()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from medata.checks.csvfile import read_annotations  # noqa: E402
from medata.checks.findings import Findings  # noqa: E402
from medata.probe import probe_bytes  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_probe(data):
    r = probe_bytes("k", data)
    assert r.bytes == len(data)
    assert r.problem is not None or (r.phash is not None and r.width)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=600))
def test_random_csv_text_never_crashes_the_reader(tmp_path, text):
    (tmp_path / "annotations.csv").write_text(text, encoding="utf-8")
    findings = Findings()
    read_annotations(tmp_path, findings)  # a bad CSV is findings, never an exception
    from medata.problems import Code

    assert all(isinstance(p.code, Code) and "\n" not in p.detail for p in findings.rows)


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\x00"),
    min_size=1, max_size=60,
).filter(lambda n: n not in (".", "..") and len(n.encode()) < 200)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(names, min_size=1, max_size=6, unique_by=str.casefold))
def test_random_file_names_each_end_as_one_row(tmp_path_factory, file_names):
    root = tmp_path_factory.mktemp("names")
    src = root / "src" / "happy"
    src.mkdir(parents=True)
    for k, n in enumerate(file_names):
        (src / n).write_bytes(encode(draw_face("happy", random.Random(k)), "JPEG"))
    res = merge([InputSpec(root / "src")], root / "out", MergeOptions(dedupe=None, workers=1))
    assert len(res.manifest) == len(file_names)
    assert res.kept["path"].str.casefold().is_unique
    assert sorted(p.name for p in root.iterdir()) == ["out", "src"]


class _StopAfterFirstPartition:
    def __init__(self) -> None:
        self.seen = 0

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.seen += n
        if self.seen >= 1:
            raise KeyboardInterrupt


def test_an_interrupted_merge_resumes_without_probing_again_and_gives_the_same_result(tmp_path):
    from medata.resume import cache_path

    src = make_sources(tmp_path / "s", n=12, seed=4)
    specs = [InputSpec(p) for p in src.paths]
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        merge(specs, out, MergeOptions(workers=1), progress=_StopAfterFirstPartition())
    assert not out.exists() and cache_path(out).exists()
    resumed = merge(specs, out, MergeOptions(workers=1))
    probed = int(resumed.manifest["sha256"].notna().sum())
    assert 0 < resumed.resumed < probed  # the first partition was not probed again
    assert not cache_path(out).exists()
    fresh = merge(specs, tmp_path / "fresh", MergeOptions(workers=1, resume=False))
    assert fresh.resumed == 0
    import pandas as pd

    pd.testing.assert_frame_equal(resumed.manifest, fresh.manifest)
    assert (out / "annotations.csv").read_bytes() == (
        tmp_path / "fresh" / "annotations.csv"
    ).read_bytes()


def test_an_exif_rotated_jpeg_is_decoded_upright_and_the_rotation_recorded(tmp_path):
    import imagehash
    from PIL import ImageOps

    im = _face().resize((96, 64))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = _save(im, "JPEG", exif=exif)
    row = _merge_one(tmp_path, "rotated.jpg", data)
    assert row["status"] == "kept" and row["exif_orientation"] == 6
    assert (row["width"], row["height"]) == (64, 96)  # upright
    with Image.open(io.BytesIO(data)) as src:
        upright = ImageOps.exif_transpose(src)
        assert row["phash"] == str(imagehash.phash(upright))


def test_an_image_without_exif_rotation_records_none(tmp_path):
    row = _merge_one(tmp_path, "plain.jpg", _save(_face(), "JPEG"))
    assert row["status"] == "kept" and pd_isna(row["exif_orientation"])


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_a_png_named_jpg_is_kept_with_a_warning(tmp_path):
    row = _merge_one(tmp_path, "really.jpg", _save(_face(), "PNG"))
    assert row["status"] == "kept" and row["path"].endswith(".png")
    assert row["detail"].startswith("warning: extension '.jpg' but the file is PNG")


def test_an_encrypted_member_is_rejected_and_never_read(tmp_path):
    z = tmp_path / "enc.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("happy/secret.jpg", b"\x00" * 64)  # first member: patched below
        zf.writestr("happy/open.jpg", encode(_face(), "JPEG"))
    data = bytearray(z.read_bytes())
    data[6] |= 0x1  # general purpose flag of the first local header: encrypted
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # and of its central directory entry
    z.write_bytes(bytes(data))
    m = merge([InputSpec(z)], tmp_path / "out").manifest.set_index("source_path")
    assert (m.loc["happy/secret.jpg", "status"], m.loc["happy/secret.jpg", "reason"]) == (
        "rejected", "encrypted")  # fmt: skip
    assert m.loc["happy/open.jpg", "status"] == "kept"


def test_a_member_with_an_absurd_compression_ratio_is_refused_unextracted(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("happy/bomb.png", b"\x00" * (40 * 1024 * 1024))
    assert z.stat().st_size < 1024 * 1024
    row = merge([InputSpec(z)], tmp_path / "out").manifest.iloc[0]
    assert (row["status"], row["reason"]) == ("rejected", "compression_bomb")
    assert "ratio" in row["detail"]


def test_a_special_file_that_cannot_be_read_is_recorded_as_unreadable(tmp_path):
    (tmp_path / "src" / "happy").mkdir(parents=True)
    os.mkfifo(tmp_path / "src" / "happy" / "pipe.jpg")
    row = merge([InputSpec(tmp_path / "src")], tmp_path / "out").manifest.iloc[0]
    assert (row["status"], row["reason"]) == ("rejected", "unreadable")


def test_unknown_and_empty_class_folders_do_not_stop_the_merge(tmp_path):
    (tmp_path / "src" / "train" / "happy").mkdir(parents=True)
    (tmp_path / "src" / "train" / "happy" / "a.jpg").write_bytes(encode(_face(), "JPEG"))
    (tmp_path / "src" / "train" / "bored").mkdir()
    other = draw_face("neutral", random.Random(99))
    (tmp_path / "src" / "train" / "bored" / "b.jpg").write_bytes(encode(other, "JPEG"))
    (tmp_path / "src" / "train" / "fear").mkdir()  # empty
    m = merge([InputSpec(tmp_path / "src")], tmp_path / "out").manifest.set_index("source_path")
    assert m.loc["train/happy/a.jpg", "status"] == "kept"
    assert (m.loc["train/bored/b.jpg", "status"], m.loc["train/bored/b.jpg", "reason"]) == (
        "excluded", "label_unknown")  # fmt: skip
    assert len(m) == 2


def test_a_disk_full_merge_on_the_command_line_is_one_line_and_not_zero(tmp_path):
    src = make_sources(tmp_path / "s", n=2, seed=0)
    code = (
        "import sys, medata.pipeline.write as i\n"
        "def boom(*a, **k): raise OSError(28, 'No space left on device')\n"
        "i.write_csv = boom\n"
        "from medata.cli.app import main\n"
        f"main(['merge', {str(src.kori)!r}, '--out', {str(tmp_path / 'out')!r}, '-q'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert r.stderr.strip().startswith("Error: disk full") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
