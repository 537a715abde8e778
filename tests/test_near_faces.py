"""Near duplicates on faces (issue 11): mirrored copies are found, the same person with another
expression is never taken for a copy, frames of one sequence are, and every decision carries its
verification score."""

from __future__ import annotations

import io
import random
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from medata import InputSpec, MergeOptions, merge
from medata.dedupe.dataset import plan
from medata.dedupe.groups import DEFAULT_THRESHOLD, find_groups
from medata.dedupe.resolve import DedupePolicy
from medata.dedupe.verify import verify
from medata.demo.synth import draw_face
from medata.manifest import load_target
from medata.probe import THUMB, probe_bytes

from .test_security import generic_source

EXPRESSIONS = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprised"]


def smooth_twins(seed: int, count: int, copies: int) -> np.ndarray:
    """``count`` smooth random 48x48 pictures (blurred noise), then a re-framed copy (an 80%
    crop, zoomed back) of each of the first ``copies``, in that order."""
    from scipy.ndimage import gaussian_filter, zoom

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.normal(size=(count, 96, 96)), (0, 4, 4))
    twins = np.stack([zoom(b[8:88, 6:86], 96 / 80, order=1)[:96, :96] for b in base[:copies]])
    stack = np.concatenate([base, twins])[:, ::2, ::2]
    return ((stack - stack.min()) / np.ptp(stack) * 255).astype(np.uint8)


def first_level_at_small_scale(monkeypatch) -> None:
    """The view search as a million images would run, at a few hundred: two levels and threads
    over 100 images, lists of about 16 keys, blocks of two 32-image chunks."""
    from medata.dedupe import views

    for name, value in (("_POOLED", 100), ("_TREE_FROM", 100), ("_LEAF", 16), ("_CHUNK", 32),
                        ("_BLOCK", 64)):  # fmt: skip
        monkeypatch.setattr(views, name, value)


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _ck_face(seed: int, expression: str, shift: int = 0) -> Image.Image:
    """A CK+-like frame: an aligned 48x48 grey face of subject ``seed``."""
    face = draw_face(expression, random.Random(seed))
    if shift:
        face = face.rotate(0, translate=(shift, shift))
    return face.resize((48, 48), Image.Resampling.BILINEAR)


def _distance(a: bytes, b: bytes) -> int:
    return bin(int(probe_bytes("a", a).phash, 16) ^ int(probe_bytes("b", b).phash, 16)).count("1")


def _same_subject_pairs(subjects: int, name) -> dict[str, bytes]:  # noqa: ANN001
    """Two expressions of each drawn CK+-like subject, named by ``name(subject, take, expr)``:
    the first in train, the second in test."""
    files = {}
    for s in range(subjects):
        e1, e2 = random.Random(s).sample(EXPRESSIONS, 2)
        files[f"train/happy/{name(s, 1, e1)}"] = _png(_ck_face(s, e1))
        files[f"test/happy/{name(s, 2, e2)}"] = _png(_ck_face(s, e2))
    return files


def _grouped_twice(m: pd.DataFrame) -> int:
    """Groups holding two files of one subject (the number after the first S of the name)."""
    grouped = m[m["dup_group"].notna()]
    subject = grouped["source_path"].str.extract(r"/[Ss](\d+)[_-]")[0]
    twice = subject.groupby(grouped["dup_group"]).nunique() < grouped.groupby("dup_group").size()
    return int(twice.sum())


def test_the_same_subject_with_another_expression_is_rarely_taken_for_a_copy(tmp_path):
    # Drawn CK+-like faces are the hard case: a flat cartoon whose expression differs only in
    # a few pixels of brows and mouth at 48x48 (real faces with another expression correlate
    # ~0.74, drawn ones ~0.99). Measured on 1,200 subjects: 2.5% of the pairs pass verification
    # on pixels alone, in the same score and block region as real re-encoded or watermarked
    # copies of the archive, so this pins the rate where names say nothing (see the next test).
    subjects = 120
    files = _same_subject_pairs(subjects, lambda s, take, e: f"S{s:03d}-{take}-{e}.png")
    close = sum(_distance(files[a], files[b]) <= DEFAULT_THRESHOLD
                for a, b in zip(list(files)[::2], list(files)[1::2], strict=True))  # fmt: skip
    assert close >= 0.8 * subjects  # the pHash rule alone would join nearly all of them
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert _grouped_twice(m) <= 0.05 * subjects, m[m["dup_group"].notna()]
    assert (m["status"] == "kept").mean() >= 0.95


@pytest.mark.parametrize("name", ["S{s:03d}_{take:03d}_{frame:08d}.png", "s{s}_{take:02d}_{e}.jpg"])
def test_frames_of_another_ck_sequence_of_the_subject_are_never_taken_for_copies(tmp_path, name):
    # Issue 11: frames of another sequence of the same subject are not near duplicates. The
    # name says so where pixels cannot (the drawn pairs above); a byte-identical copy across
    # sequences is still an exact duplicate.
    subjects = 120
    fmt = name.format
    files = _same_subject_pairs(subjects, lambda s, take, e: fmt(s=s, take=take, frame=11, e=e))
    files["test/happy/" + fmt(s=500, take=3, frame=11, e="x")] = files[next(iter(files))]
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert _grouped_twice(m[~m["source_path"].str.contains("500_")]) == 0
    grouped = m[m["dup_group"].notna()]
    assert len(grouped) == 2 and (grouped["dup_kind"] == "exact").all(), grouped
    assert grouped["source_path"].str.contains("500_").sum() == 1


def test_different_faces_drawn_alike_are_not_taken_for_copies_even_by_the_thousand(tmp_path):
    # 1,500 different drawn faces with one expression: one face template under a similarity
    # transform, so the centre of many a pair lines up as a copy's would (issue 11: the
    # generated three-source merge took ~4,000 such pairs for copies). Their light and
    # background differ, which the whole frame's agreement sees.
    files = {}
    for s in range(1500):
        face = draw_face("fear", random.Random(70_000 + s)).resize((48, 48))
        files[f"{'test' if s % 4 == 0 else 'train'}/fear/f{s}.png"] = _png(face)
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    assert m["dup_group"].notna().mean() <= 0.01, m["dup_group"].notna().sum()
    assert (m["status"] == "kept").mean() >= 0.99


def test_the_next_frame_of_a_sequence_is_a_near_duplicate(tmp_path):
    files = {}
    for s in range(6):
        files[f"train/happy/S{s:03d}_001_a.png"] = _png(_ck_face(100 + s, "happy"))
        files[f"train/happy/S{s:03d}_001_b.png"] = _png(_ck_face(100 + s, "happy", shift=1))
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    joined = m[m["dup_group"].notna()]
    assert joined["dup_group"].nunique() >= 5
    assert (joined["dup_score"] >= 0.9).all()


def test_a_mirrored_test_copy_of_a_train_image_is_a_leak_of_kind_mirror(real_zip, tmp_path):
    with zipfile.ZipFile(real_zip) as zf:
        names = [n for n in sorted(zf.namelist()) if "/train/happiness/" in n][:5]
        images = [Image.open(io.BytesIO(zf.read(n))).convert("RGB") for n in names]
    files = {}
    for k, im in enumerate(images):
        files[f"train/happy/h{k}.png"] = _png(im)
        files[f"test/happy/m{k}.png"] = _png(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    mirrored = m[m["source_path"].str.startswith("test/")]
    assert (mirrored["status"] == "leak").all()
    assert set(mirrored["dup_kind"]) == {"mirror"}
    assert (mirrored["dup_score"] >= 0.9).all()


def test_verification_accepts_a_zoomed_copy_and_rejects_another_photo(real_zip):
    with zipfile.ZipFile(real_zip) as zf:
        names = [n for n in sorted(zf.namelist()) if "/train/anger/" in n][:40]
        images = [Image.open(io.BytesIO(zf.read(n))).convert("L") for n in names]

    def thumb(im: Image.Image) -> np.ndarray:
        return np.asarray(im.resize((THUMB, THUMB), Image.Resampling.LANCZOS))

    originals = np.stack([thumb(im) for im in images[:20]])
    zoomed = np.stack([thumb(im.crop((6, 4, 74, 72)).resize((80, 80))) for im in images[:20]])
    others = np.stack([thumb(im) for im in images[20:]])
    assert verify(originals, zoomed).same.mean() >= 0.9
    assert not verify(originals, others).same.any()
    exact = verify(originals, originals)
    assert np.allclose(exact.score, 1.0, atol=1e-3) and exact.same.all()


def test_every_grouped_row_records_its_score_and_every_probed_row_its_thumbnail(demo_merged):
    m = demo_merged.manifest
    grouped = m[m["dup_group"].notna()]
    assert grouped["dup_score"].notna().all()
    assert ((grouped["dup_score"] > 0) & (grouped["dup_score"] <= 1.0001)).all()
    exact = grouped[grouped["dup_kind"] == "exact"]
    assert (exact["dup_score"] == 1.0).all()
    decoded = m[m["phash"].notna()]
    assert decoded["thumb"].map(lambda t: isinstance(t, bytes) and len(t) == THUMB**2).all()
    assert set(grouped["dup_kind"]) <= {"exact", "near", "mirror", "crop"}


def test_a_manifest_without_thumbnails_keeps_the_plain_phash_rule(demo_merged, tmp_path):
    import pyarrow.parquet as pq

    table = pq.read_table(demo_merged.out / "manifest.parquet")
    old = table.drop_columns(["thumb", "dup_score", "phash_mirror"])
    pq.write_table(old, tmp_path / "old.parquet")
    target = load_target(tmp_path / "old.parquet")
    assert target.manifest["thumb"].isna().all()
    plain = find_groups(target.manifest, 4)
    assert len(plain.member) > 0 and plain.verified == 0
    p = plan(target, DedupePolicy())
    assert len(p.groups.member) >= len(plain.member)


def test_merge_and_dedupe_give_the_same_groups_and_scores(demo_merged):
    target = load_target(demo_merged.out)
    p = plan(target, DedupePolicy())
    before = demo_merged.manifest[["source_path", "dup_group", "dup_kind", "dup_score"]]
    after = p.manifest[["source_path", "dup_group", "dup_kind", "dup_score"]]
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True),
                                  check_dtype=False)  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_verification_gives_the_same_result_with_any_number_of_workers(workers):
    from medata.dedupe.verify import verify_many

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(1200, THUMB, THUMB), dtype=np.uint8)
    shifted = np.roll(base, 1, axis=2)
    one = verify_many(base, shifted, None, workers=1)
    other = verify_many(base, shifted, None, workers=workers)
    assert np.array_equal(one.score, other.score) and np.array_equal(one.blocks, other.blocks)


def test_look_alikes_stopped_before_refinement_get_the_verdicts_refinement_gives(
    real_zip, monkeypatch
):
    # The early frame test is only a shortcut: pairs of different drawn faces of one layout
    # (their centres line up) and re-cropped or turned copies of real faces get the same
    # verdicts with it as without it, and far fewer of the drawn pairs are refined.
    from medata.dedupe import verify as v

    rng = random.Random(5)
    drawn = np.stack([np.asarray(draw_face("fear", random.Random(80_000 + s)).resize((48, 48))
                                 .convert("L")) for s in range(600)])  # fmt: skip
    real = _real_faces(real_zip, "fear", 40)
    copies = [_recrop(im, rng) if k % 2 else _turn(im, rng) for k, im in enumerate(real)]
    thumbs = np.stack([np.frombuffer(probe_bytes("x", _png(im)).thumb, np.uint8)
                       for im in real + copies]).reshape(-1, THUMB, THUMB)  # fmt: skip
    refined: list[int] = []
    register = v._register

    def counting(a, b, p, steps, stride=1):  # noqa: ANN001, ANN202
        if stride == 2 and steps == 3:  # the first step of refinement
            refined.append(len(a))
        return register(a, b, p, steps, stride)

    def verdicts() -> tuple[np.ndarray, np.ndarray, int]:
        refined.clear()
        alike = v.verify(drawn[::2], drawn[1::2]).same
        count = sum(refined)
        return alike, v.verify(thumbs[:40], thumbs[40:]).same, count

    monkeypatch.setattr(v, "_register", counting)
    alike, copied, stopped = verdicts()
    monkeypatch.setattr(v, "EARLY_FRAME", -np.inf)
    alike_full, copied_full, every = verdicts()
    assert np.array_equal(alike, alike_full) and np.array_equal(copied, copied_full)
    assert copied.mean() >= 0.9 and not alike.any()
    assert every >= 10 and stopped <= every // 2, (stopped, every)


def _real_faces(real_zip, folder: str, count: int) -> list[Image.Image]:
    with zipfile.ZipFile(real_zip) as zf:
        names = [n for n in sorted(zf.namelist()) if f"/train/{folder}/" in n][:count]
        return [Image.open(io.BytesIO(zf.read(n))).convert("RGB") for n in names]


def _recrop(im: Image.Image, rng: random.Random) -> Image.Image:
    """80-92% of the picture at a random offset, scaled back to its size."""
    w, h = im.size
    s = rng.uniform(0.80, 0.92)
    cw, ch = int(w * s), int(h * s)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BICUBIC)


def _turn(im: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(6, 10) * rng.choice([-1, 1])
    return im.rotate(angle, resample=Image.Resampling.BICUBIC)


def test_recropped_and_turned_test_copies_of_train_images_are_leaks_of_kind_crop(
    real_zip, tmp_path
):
    rng = random.Random(3)
    images = _real_faces(real_zip, "surprise", 12)
    files = {}
    for k, im in enumerate(images):
        files[f"train/happy/s{k}.png"] = _png(im)
        files[f"test/happy/crop{k}.png"] = _png(_recrop(im, rng))
        files[f"test/happy/turn{k}.png"] = _png(_turn(im, rng))
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    copies = m[m["source_path"].str.startswith("test/")]
    for kind in ("crop", "turn"):
        of_kind = copies[copies["source_path"].str.contains(f"/{kind}")]
        assert (of_kind["status"] == "leak").mean() >= 0.9, of_kind[["source_path", "status"]]
    leaks = copies[copies["status"] == "leak"]
    assert (leaks["dup_kind"] == "crop").mean() >= 0.9
    assert (leaks["dup_score"] >= 0.9).all()


def _lanczos_thumb(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("L").resize((THUMB, THUMB), Image.Resampling.LANCZOS))


def _searched_both_ways(originals: list[np.ndarray], copies: list[np.ndarray]):  # noqa: ANN202
    """The view search over the originals and the copies, the originals first and then the
    copies first: per order, for each copy k (of originals[k]) found with its original, the
    search's ``mirrored`` and the verdict from the search's start; None when not found."""
    from medata.dedupe.views import search

    for copy_first in (False, True):
        stack = np.stack(copies + originals if copy_first else originals + copies)
        at_copy = (lambda k: k) if copy_first else (lambda k: len(originals) + k)
        at_orig = (lambda k: len(copies) + k) if copy_first else (lambda k: k)
        found = search(stack)
        rows = {tuple(p): k for k, p in enumerate(found.pairs.tolist())}
        out = []
        for k in range(len(copies)):
            row = rows.get(tuple(sorted((at_copy(k), at_orig(k)))))
            if row is None:
                out.append(None)
                continue
            a, b = found.pairs[row]
            v = verify(stack[a][None], stack[b][None], found.mirrored[row : row + 1],
                       found.start[row : row + 1])  # fmt: skip
            out.append((bool(found.mirrored[row]), v))
        yield copy_first, out


def test_the_view_search_finds_a_crop_either_way_round_and_says_where_to_register(real_zip):
    rng = random.Random(5)
    images = _real_faces(real_zip, "fear", 30)
    originals = [_lanczos_thumb(im) for im in images]
    crops = [_lanczos_thumb(_recrop(im, rng)) for im in images[:10]]
    for _, found in _searched_both_ways(originals, crops):
        hits = [v for v in found if v is not None]
        for _, v in hits:
            assert v.same[0] and v.kind() == ["crop"]
        assert len(hits) >= 9


def test_the_view_search_finds_a_mirrored_crop_or_turn_either_way_round(real_zip):
    # Every image is keyed both ways round: a zoomed or turned view of the original frames
    # what the mirror image of its mirrored copy frames (before: 8% of mirrored crops joined).
    rng = random.Random(9)
    images = _real_faces(real_zip, "anger", 30)
    mirror = Image.Transpose.FLIP_LEFT_RIGHT
    originals = [_lanczos_thumb(im) for im in images]
    copies = [_lanczos_thumb((_recrop if k % 2 else _turn)(im.transpose(mirror), rng))
              for k, im in enumerate(images[:12])]  # fmt: skip
    for copy_first, found in _searched_both_ways(originals, copies):
        hits = [hit for hit in found if hit is not None]
        assert all(mirrored for mirrored, _ in hits)
        accepted = sum(bool(v.same[0] and v.kind() == ["mirror"]) for _, v in hits)
        assert accepted >= 11, (copy_first, accepted)


def test_a_mirrored_and_zoomed_pair_needs_a_closer_frame_than_either_alone():
    # Different drawn faces found through a mirror and registered with a zoom passed with
    # frames of 0.970-0.986 (42 pairs among the 48,792 generated faces); real mirrored crops
    # and turns keep >= 0.983, or a centre >= 0.987.
    from medata.dedupe.verify import Verdict

    def same(mirror: bool, scale: float, score: float, frame: float) -> bool:
        one = [np.array([x]) for x in (score, 0.85, mirror, scale, 0.0, frame)]
        return bool(Verdict(*one).same[0])

    assert same(False, 1.2, 0.97, 0.975) and same(True, 1.0, 0.97, 0.975)
    assert not same(True, 1.2, 0.97, 0.975) and not same(True, 1.2, 0.983, 0.975)
    assert same(True, 1.2, 0.97, 0.985) and same(True, 1.2, 0.988, 0.95)


def test_mirrored_recropped_test_copies_of_train_images_are_leaks(real_zip, tmp_path):
    rng = random.Random(4)
    files = {}
    for k, im in enumerate(_real_faces(real_zip, "happiness", 12)):
        files[f"train/happy/h{k}.png"] = _png(im)
        files[f"test/happy/m{k}.png"] = _png(_recrop(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                                                     rng))  # fmt: skip
    src = generic_source(tmp_path / "src", files)
    m = merge([InputSpec(src, "generic")], tmp_path / "out", MergeOptions(workers=1)).manifest
    copies = m[m["source_path"].str.startswith("test/")]
    assert (copies["status"] == "leak").mean() >= 0.9, copies[["source_path", "status"]]
    assert (copies.loc[copies["status"] == "leak", "dup_kind"] == "mirror").all()


def test_the_view_search_is_deterministic_and_finds_what_looking_everywhere_finds():
    from medata.dedupe import views

    rng = np.random.default_rng(1)
    # Smooth random "faces": blurred noise, each with a shifted, zoomed twin.
    from scipy.ndimage import gaussian_filter, zoom

    base = gaussian_filter(rng.normal(size=(300, 96, 96)), (0, 4, 4))
    base = (base - base.min()) / (base.max() - base.min()) * 255
    twins = np.stack([zoom(b[8:88, 6:86], 96 / 80, order=1)[:96, :96] for b in base[:100]])
    stack = np.concatenate([base, twins])[:, ::2, ::2].astype(np.uint8)
    first, second = views.search(stack), views.search(stack)
    assert np.array_equal(first.pairs, second.pairs)
    assert np.array_equal(first.start, second.start)
    found = {tuple(p) for p in first.pairs.tolist()}
    assert sum((k, 300 + k) in found for k in range(100)) >= 90
    # The lists only decide where to look: scanning every key finds nearly the same pairs.
    fast = views.search(stack, top=10**6)
    everywhere = views.search(stack, top=10**6, lists=1)
    a = {tuple(p) for p in fast.pairs.tolist()}
    b = {tuple(p) for p in everywhere.pairs.tolist()}
    assert len(b) >= 100 and len(a & b) >= 0.95 * len(b) and len(a - b) <= 0.01 * len(b)


def test_the_view_search_of_images_that_only_match_themselves_finds_nothing():
    from scipy.ndimage import gaussian_filter

    from medata.dedupe.views import search

    rng = np.random.default_rng(2)
    smooth = gaussian_filter(rng.normal(size=(40, THUMB, THUMB)), (0, 3, 3))
    smooth = ((smooth - smooth.min()) / np.ptp(smooth) * 255).astype(np.uint8)
    found = search(smooth)
    assert len(found.pairs) == 0 and found.start.shape == (0, 4)
    flat = np.full((3, THUMB, THUMB), 128, np.uint8)  # no texture: no view to match (the
    # exact search joins identical pictures)
    assert len(search(flat).pairs) == 0
    assert len(search(flat[:1]).pairs) == 0


def test_a_burst_of_near_identical_frames_is_searched_in_bounded_memory():
    import tracemalloc

    from scipy.ndimage import gaussian_filter

    from medata.dedupe import views

    # 2,500 frames of one still scene (sensor noise only): every view of every frame matches
    # every key. The cosines are computed a block at a time and each view keeps its best few
    # matches of a list; holding them all took over 1 GB at 3,000 frames.
    rng = np.random.default_rng(4)
    scene = gaussian_filter(rng.normal(size=(THUMB, THUMB)), 3)
    scene = (scene - scene.min()) / np.ptp(scene) * 200 + 20
    frames = np.clip(scene[None] + rng.normal(0, 2, (2500, THUMB, THUMB)), 0, 255)
    tracemalloc.start()
    try:
        found = views.search(frames.astype(np.uint8))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20
    # Still each frame's best partners: every frame is linked to another.
    assert len(np.unique(found.pairs)) == 2500


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 5), st.integers(0, 3)),
        max_size=80,
    ),
    st.integers(1, 3),
    st.lists(st.integers(1, 30), min_size=1, max_size=6),
)
def test_cutting_the_view_matches_in_parts_keeps_exactly_what_one_cut_keeps(matches, top, parts):
    from medata.dedupe.views import _Kept, _select

    # Few images, few distinct scores and views: many ties, many pairs seen from both ends.
    i, j, score, view = (np.array([m[k] for m in matches], dtype=np.int64) for k in range(4))
    cos = (0.9 + score / 100).astype(np.float32)
    whole = _select(i, j, cos, view, top)
    kept = _Kept(top, compact_at=1)  # cut after every part
    at = 0
    for size in parts * 20:
        if at >= len(i):
            break
        kept.add(i[at : at + size], j[at : at + size], cos[at : at + size], view[at : at + size])
        at += size
    if at < len(i):
        kept.add(i[at:], j[at:], cos[at:], view[at:])
    for got, want in zip(kept.result(), whole, strict=True):
        assert np.array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(-3, 5), st.integers(0, 3)),
        max_size=60,
    ),
    st.integers(1, 3),
)
@example([(0, 1, 3, 0), (1, 0, 3, 0)], 1)  # one pair, seen from both ends alike
@example([(2, 5, 4, 1), (5, 2, 4, 0), (2, 3, 4, 0), (3, 5, 4, 0)], 1)  # ties across pairs
def test_the_match_cut_keeps_each_pairs_best_match_and_each_images_best_pairs(matches, top):
    from collections import Counter

    from medata.dedupe.views import _select

    i, j, score, view = (np.array([m[k] for m in matches], dtype=np.int64) for k in range(4))
    cos = (score / 7).astype(np.float32)  # ties, and negative cosines
    # The definition, one match at a time: of each unordered pair its best match (highest
    # cosine, then lowest view, then seen from the first image); the pairs best first (ties:
    # by the pair); a pair stays while either image has fewer than ``top`` better pairs.
    best: dict[tuple[int, int], tuple[tuple[float, int, bool], int]] = {}
    for k, (a, b) in enumerate(zip(i.tolist(), j.tolist(), strict=True)):
        if a == b:
            continue
        pair = (min(a, b), max(a, b))
        rank = (-float(cos[k]), int(view[k]), a != pair[0])
        if pair not in best or rank < best[pair][0]:
            best[pair] = (rank, k)
    seen: Counter[int] = Counter()
    want = []
    for pair, (_, k) in sorted(best.items(), key=lambda kv: (kv[1][0][0], kv[0])):
        if seen[pair[0]] < top or seen[pair[1]] < top:
            want.append(k)
        seen[pair[0]] += 1
        seen[pair[1]] += 1
    got = _select(i, j, cos, view, top)
    for column, expected in zip(got, (i, j, cos, view), strict=True):
        assert np.array_equal(column, expected[want])


def test_the_view_search_holds_only_each_images_best_matches_and_finds_the_same_pairs(
    monkeypatch,
):
    from scipy.ndimage import gaussian_filter

    from medata.dedupe import views

    rng = np.random.default_rng(3)
    # 25 re-framed crops of one picture, most of them two or three times, and 40 unrelated
    # pictures: thousands of matches for a top-2 cut.
    base = gaussian_filter(rng.normal(size=(1, 96, 96)), (0, 4, 4))[0]
    copies = [base[o : o + 86, p : p + 86] for o in range(0, 10, 2) for p in range(0, 10, 2)]
    others = gaussian_filter(rng.normal(size=(40, 86, 86)), (0, 4, 4))
    stack = np.stack([*copies, *copies[::-1], *others, *copies[:10]])[:, ::2, ::2][:, :THUMB]
    stack = ((stack - stack.min()) / np.ptp(stack) * 255).astype(np.uint8)
    pad = THUMB - stack.shape[1]  # 43 -> 48 pixels
    stack = np.ascontiguousarray(np.pad(stack, ((0, 0), (0, pad), (0, pad)), mode="edge"))
    result, cut_at = views._Kept.result, []

    def cutting(kept):  # noqa: ANN001, ANN202 - how many matches each cut sees
        cut_at.append(sum(len(part[0]) for part in kept.parts))
        return result(kept)

    monkeypatch.setattr(views._Kept, "result", cutting)
    once = views.search(stack)
    # One part (a single chunk): its cut sees every match found; the search's own cut of
    # what the parts kept follows.
    every, _ = cut_at
    cut_at.clear()
    monkeypatch.setattr(views, "_COMPACT", 50)  # cut whenever over 50 matches are held
    cut = views.search(stack)
    assert len(once.pairs) > 50 and len(cut_at) > 5 and max(cut_at) < every / 2
    assert np.array_equal(once.pairs, cut.pairs)
    assert np.array_equal(once.cosine, cut.cosine)
    assert np.array_equal(once.start, cut.start)


def test_the_view_search_on_a_pool_of_workers_finds_exactly_what_one_process_finds(monkeypatch):

    from medata.dedupe import views
    from medata.dedupe.verify import verification_pool

    # Re-framed copies of the first 60, after all the others: matches across the parts.
    stack = smooth_twins(seed=4, count=150, copies=60)
    monkeypatch.setattr(views, "_CHUNK", 32)  # 7 chunks: several parts on two workers
    assert len(views._parts(len(stack), 2)) >= 3
    alone_done: list[int] = []
    alone = views.search(stack, advance=alone_done.append)
    assert alone_done == [32] * 6 + [18] and len(alone.pairs) >= 50
    from concurrent.futures import ProcessPoolExecutor

    from medata import cluster

    handed: list[int] = []  # parts handed to the process pool
    in_order = cluster.in_order
    monkeypatch.setattr(cluster, "in_order", lambda p, f, jobs, w: in_order(p, f, (
        handed.append(len(j[1])) or j if isinstance(p, ProcessPoolExecutor) else j
        for j in jobs), w))  # fmt: skip
    shared_done: list[int] = []
    with verification_pool(2) as pool:
        shared = views.search(stack, advance=shared_done.append, pool=pool, workers=2)
    assert len(handed) >= 3 and sum(handed) == len(stack) and shared_done == handed
    # Above _POOLED images the parts would hold a copy of every key each: threads of this
    # process share one index instead, nothing goes to the pool, and the result is the same.
    handed.clear()
    monkeypatch.setattr(views, "_POOLED", len(stack) - 1)
    with verification_pool(2) as pool:
        alone_again = views.search(stack, pool=pool, workers=2)
    assert handed == [] and np.array_equal(alone.pairs, alone_again.pairs)
    assert np.array_equal(alone.cosine, alone_again.cosine)
    assert np.array_equal(alone.pairs, shared.pairs)
    assert np.array_equal(alone.cosine, shared.cosine)
    assert np.array_equal(alone.mirrored, shared.mirrored)
    assert np.array_equal(alone.start, shared.start)


def test_the_view_search_of_a_large_set_goes_through_a_first_level_and_still_finds_the_crops(
    monkeypatch,
):
    from medata.dedupe import views

    stack = smooth_twins(seed=6, count=360, copies=100)
    first_level_at_small_scale(monkeypatch)  # 460 images: 6 tops
    tops: list[int] = []
    lists_of = views._lists_of
    monkeypatch.setattr(views, "_lists_of", lambda q, i: tops.append(len(i.tops)) or lists_of(q, i))
    done: list[int] = []
    two = views.search(stack, top=10**6, workers=2, advance=done.append)
    assert set(tops) == {6} and done == [64] * 7 + [12]
    one = views.search(stack, top=10**6, workers=1)
    assert np.array_equal(one.pairs, two.pairs) and np.array_equal(one.cosine, two.cosine)
    found = {tuple(p) for p in two.pairs.tolist()}
    assert sum((k, 360 + k) in found for k in range(100)) >= 90
    # Every pair it reports is a real match: scanning every key finds it too.
    everywhere = {tuple(p) for p in views.search(stack, top=10**6, lists=1).pairs.tolist()}
    assert found <= everywhere and len(found) >= 0.8 * len(everywhere)
    # A view keeps only its best keys of a list, but never fewer than asked for: 200 copies of
    # one picture (all in one list) are 19,900 pairs, and each image's 2 best with top=2.
    same = np.repeat(stack[:1], 200, axis=0)
    assert len(views.search(same, top=10**6).pairs) == 200 * 199 // 2
    kept = views.search(same).pairs
    assert np.bincount(kept.ravel(), minlength=200).min() >= 2
    # Blank pictures have no direction: nothing, under the first level too.
    assert len(views.search(np.full((300, THUMB, THUMB), 128, np.uint8)).pairs) == 0


@pytest.mark.parametrize(
    ("path", "sequence"),
    [("CK+/anger/S010_004_00000017.png", "S010_004"), ("x/s10_04_peak.JPG", "S010_004"),
     ("S0101_0002_frame.png", "S101_002"), ("fer2013/anger/12345.jpg", None),
     ("Sad_001_002.png", None), ("S010_004_00000017.png.txt", None), ("S1_2_3.png", None)],
)  # fmt: skip
def test_a_ck_sequence_is_read_only_from_a_name_of_the_ck_pattern(path, sequence):
    from medata.ckplus import sequence_of

    assert sequence_of(path) == sequence
