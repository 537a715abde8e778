"""Duplicate search, grouping and resolution: exact against brute force, known answers on the
real archive, planted copies in generated data, and the policies."""

from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from medata import InputSpec, MergeOptions, merge, validate
from medata.dedupe import search as search_module
from medata.dedupe.groups import DEFAULT_THRESHOLD, byte_identical_summary, find_groups
from medata.dedupe.resolve import ConflictPolicy, DedupePolicy, LeakPolicy, resolve
from medata.dedupe.search import (
    MAX_CHUNK_BITS,
    _chunks,
    brute_force_pairs,
    choose_chunks,
    near_pairs,
    nearest_of_each,
    nearest_pairs,
)
from medata.demo.synth import draw_face
from medata.probe import phash_hex

u64 = st.integers(min_value=0, max_value=2**64 - 1)


@st.composite
def hash_sets(draw):
    """Random hashes plus planted neighbours within a few bits of some of them."""
    base = draw(st.lists(u64, min_size=1, max_size=300))
    planted = []
    for h in base[: draw(st.integers(0, len(base)))]:
        flips = draw(st.lists(st.integers(0, 63), max_size=12))
        for b in flips:
            h ^= 1 << b
        planted.append(h)
    values = base + planted
    draw(st.randoms()).shuffle(values)
    return np.array(values, dtype=np.uint64)


@settings(max_examples=60, deadline=None)
@given(hash_sets(), st.integers(0, 14))
def test_the_fast_search_returns_exactly_the_brute_force_pairs(hashes, threshold):
    # brute_below=0 forces the multi-index tables even on these small sets: the fast path is
    # what is compared with the oracle, not brute force with itself.
    fast = near_pairs(hashes, threshold, brute_below=0)
    assert np.array_equal(fast, brute_force_pairs(hashes, threshold))


@st.composite
def hash_sets_with_repeats(draw):
    """Few distinct values, many repeated (blank or copied images), some a few bits off."""
    values = draw(hash_sets())[:20]
    picks = draw(st.lists(st.integers(0, len(values) - 1), min_size=2, max_size=200))
    return values[np.array(picks)]


@settings(max_examples=60, deadline=None)
@given(hash_sets_with_repeats(), st.integers(0, 10))
def test_repeated_hashes_are_searched_once_and_still_give_every_brute_force_pair(hashes, threshold):
    fast = near_pairs(hashes, threshold, brute_below=0)
    assert np.array_equal(fast, brute_force_pairs(hashes, threshold))


@pytest.mark.parametrize("at_once", [1, 5, 64, None])
def test_full_buckets_checked_a_few_candidates_at_a_time_give_the_brute_force_pairs(at_once):
    # A photo and its many copies hash alike and fill the chunk tables' buckets; their
    # candidates are checked in bounded slices, which must not change what is found.
    rng = np.random.default_rng(3)
    centres = rng.integers(0, 2**63, size=12, dtype=np.int64).astype(np.uint64)
    flips = rng.integers(0, 64, size=(600, 3)).astype(np.uint64)
    h = centres[np.arange(600) % 12]
    for k in range(3):
        h = h ^ (np.uint64(1) << flips[:, k]) * (rng.random(600) < 0.6).astype(np.uint64)
    kept = search_module._CANDIDATES
    search_module._CANDIDATES = kept if at_once is None else at_once
    try:
        found = near_pairs(h, 8, brute_below=0)
    finally:
        search_module._CANDIDATES = kept
    expected = brute_force_pairs(h, 8)
    assert len(expected) > 10_000  # dense: about 15,000 pairs
    assert np.array_equal(found, expected)


def _nearest_the_plain_way(both: np.ndarray, threshold: int, k: int, n: int) -> np.ndarray:
    """Every pair within ``threshold``, then each image's ``k`` nearest: the oracle."""
    found = brute_force_pairs(both, threshold)
    found = found[(found[:, 0] < n) & (found[:, 1] != found[:, 0] + n)]
    distance = search_module.popcount(both[found[:, 0]] ^ both[found[:, 1]])
    return found[nearest_of_each(found % n, distance, found[:, 1] >= n, k)]


@st.composite
def bursts(draw):
    """Images and their mirrors' hashes drawn from a few values (bursts of identical frames)
    and their one- or two-bit neighbours, or (mirrored=False) the images alone."""
    values = np.array(draw(st.lists(u64, min_size=1, max_size=4)), dtype=np.uint64)
    values = np.concatenate([values, values ^ np.uint64(3), values ^ np.uint64(1 << 40)])
    n = draw(st.integers(2, 240))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h = values[rng.integers(0, len(values), n)]
    m = values[rng.integers(0, len(values), n)]
    same = rng.random(n) < 0.3  # symmetric pictures: the mirror hashes as the image does
    m[same] = h[same]
    mirrored = draw(st.booleans())
    return (np.concatenate([h, m]) if mirrored else h), n


@settings(max_examples=80, deadline=None)
@given(bursts(), st.integers(0, 9), st.integers(1, 7), st.integers(1, 60), st.integers(1, 200))
def test_each_images_nearest_candidates_found_in_bounded_parts_are_those_of_all_pairs(
    burst, threshold, k, keep_at, at_once
):
    # nearest_pairs never holds every pair: it cuts them down as they pile up (here after a
    # few dozen) and pairs only some members of a value; the result is the plain way's.
    both, n = burst
    kept = search_module._KEEP_AT, search_module._CANDIDATES
    search_module._KEEP_AT, search_module._CANDIDATES = keep_at, at_once
    try:
        found = nearest_pairs(both, threshold, k, images=n if len(both) > n else None,
                              brute_below=0)  # fmt: skip
    finally:
        search_module._KEEP_AT, search_module._CANDIDATES = kept
    assert np.array_equal(found, _nearest_the_plain_way(both, threshold, k, n))


def test_a_burst_of_identical_frames_is_searched_without_listing_its_pairs(monkeypatch):
    # 2,000 frames with one hash (and 2,000 mirrors with another): 2 million pairs within
    # the radius, of which each image keeps its 6 nearest. Only a few pairs per image are
    # ever formed, and what is kept is what the plain way keeps.
    n, k = 2000, 6
    rng = np.random.default_rng(0)
    h = np.full(n, 0x9A3C5E7F12345678, dtype=np.uint64)
    h[rng.random(n) < 0.02] ^= np.uint64(1 << 7)  # a few frames a bit off
    both = np.concatenate([h, np.full(n, 0x1234, dtype=np.uint64)])
    formed = []
    add = search_module._Nearest.add

    def counted(self, pairs):  # noqa: ANN001, ANN202
        formed.append(len(pairs))
        return add(self, pairs)

    monkeypatch.setattr(search_module._Nearest, "add", counted)
    found = nearest_pairs(both, 8, k, images=n)
    assert sum(formed) < 100 * n  # a few dozen an image; all pairs: 2 million
    assert np.array_equal(found, _nearest_the_plain_way(both, 8, k, n))


def test_candidate_slices_cover_every_bucket_once_and_stay_under_the_limit():
    sizes = np.array([3, 3, 9, 1, 2, 2, 2, 20, 1], dtype=np.int64)
    spans = search_module._spans(sizes, 6)
    assert [i for lo, hi in spans for i in range(lo, hi)] == list(range(len(sizes)))
    assert all(sizes[lo:hi].sum() <= 6 or hi - lo == 1 for lo, hi in spans)
    assert len(spans) == 6  # [3, 3] [9] [1, 2, 2] [2] [20] [1]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)), max_size=60),
    st.sampled_from([search_module._KEY_SPAN, 7]),
)
def test_distinct_pairs_come_out_as_sorting_the_rows_gives_them(rows, span):
    # One integer key per row, or (past the key's span) the rows themselves: the same either way.
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    pairs = np.concatenate([pairs, pairs[: len(pairs) // 2]])  # some rows twice
    expected = np.unique(pairs, axis=0) if len(pairs) else pairs
    kept, search_module._KEY_SPAN = search_module._KEY_SPAN, span
    try:
        got = search_module.unique_pairs(pairs)
    finally:
        search_module._KEY_SPAN = kept
    assert got.dtype == np.int64 and got.shape == expected.shape
    assert np.array_equal(got, expected)


@settings(max_examples=60, deadline=None)
@given(hash_sets(), st.integers(0, 6), st.integers(1, 4))
def test_block_tables_return_exactly_the_brute_force_pairs(hashes, threshold, extra):
    """The plan for millions of hashes at small radii, forced on small sets."""
    from medata.dedupe.search import _block_pairs, unique_pairs

    found = list(_block_pairs(hashes, threshold + extra, threshold))
    fast = unique_pairs(np.concatenate(found)) if found else np.empty((0, 2), np.int64)
    assert np.array_equal(fast.reshape(-1, 2), brute_force_pairs(hashes, threshold))


def test_components_of_a_thousand_identical_blank_hashes_never_list_their_pairs():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from medata.dedupe.search import hash_components

    rng = np.random.default_rng(7)
    h = rng.integers(0, 2**64 - 1, size=3000, dtype=np.uint64, endpoint=True)
    h[:1000] = 0  # one blank image, a thousand times
    h[1000:1010] = 1  # within 1 bit of the blank: joins its component
    comp, searched = hash_components(h, 4)
    assert searched < 100  # distinct values only: not the 499,500 pairs among the blanks
    pairs = brute_force_pairs(h, 4)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(3000, 3000))
    _, expected = connected_components(graph, directed=False)
    # the same partition (component numbers may differ)
    assert len(set(zip(comp.tolist(), expected.tolist(), strict=True))) == len(set(expected))
    assert len(set(comp.tolist())) == len(set(expected.tolist()))
    assert len(set(comp[:1010])) == 1


@pytest.mark.parametrize("n,threshold", [(3000, 4), (5000, 8), (4000, 0), (2000, 12)])
def test_the_multi_index_path_matches_brute_force_on_larger_sets(n, threshold):
    rng = np.random.default_rng(n + threshold)
    h = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    for _ in range(n // 4):
        v = h[rng.integers(n)]
        for b in rng.choice(64, rng.integers(0, threshold + 3), replace=False):
            v ^= np.uint64(1) << np.uint64(int(b))
        h[rng.integers(n)] = v
    assert choose_chunks(n, threshold) > 0  # the fast path, not the brute-force fallback
    assert np.array_equal(near_pairs(h, threshold), brute_force_pairs(h, threshold))


@pytest.mark.parametrize("n", [10, 10_000, 1_000_000, 100_000_000])
@pytest.mark.parametrize("threshold", [0, 4, 8, 10])
def test_chunks_cover_64_bits_and_fit_the_bucket_table(n, threshold):
    m = choose_chunks(n, threshold)
    assert m >= 1
    chunks = _chunks(m)
    assert sum(bits for _, bits in chunks) == 64
    assert max(bits for _, bits in chunks) <= MAX_CHUNK_BITS


def _phash_of(im: Image.Image) -> int:
    return int(phash_hex(im), 16)


@pytest.mark.parametrize("seed", range(6))
def test_a_resized_reencoded_grey_copy_is_within_the_default_threshold(seed):
    face = draw_face("happy", random.Random(seed)).convert("RGB")
    buf = io.BytesIO()
    face.resize((61, 61)).convert("L").save(buf, "JPEG", quality=70)
    copy = Image.open(io.BytesIO(buf.getvalue()))
    assert bin(_phash_of(face) ^ _phash_of(copy)).count("1") <= DEFAULT_THRESHOLD


def test_different_generated_faces_are_mostly_beyond_the_default_threshold():
    rng = random.Random(42)
    hashes = np.array([_phash_of(draw_face("neutral", rng)) for _ in range(40)], dtype=np.uint64)
    assert len(near_pairs(hashes, DEFAULT_THRESHOLD)) <= 2


def test_the_real_archive_has_the_byte_identical_groups_its_readme_lists(real_merged):
    assert byte_identical_summary(real_merged.manifest) == {
        "groups": 117, "files": 236, "cross_split": 41, "label_conflict": 58, "cross_source": 0,
    }  # fmt: skip


def test_after_a_default_merge_of_the_real_archive_no_kept_bytes_repeat(real_deduped):
    kept = real_deduped.kept
    assert kept["sha256"].is_unique and kept["pixel_sha256"].is_unique


def test_after_a_default_merge_no_duplicate_group_keeps_members_in_both_splits(real_deduped):
    kept = real_deduped.kept
    per_group = kept[kept["dup_group"].notna()].groupby("dup_group")["split"].nunique()
    assert (per_group == 1).all()
    m = real_deduped.manifest
    assert (m.loc[m["status"] == "leak", "split"] == "test").all()


def test_after_a_default_merge_validate_finds_no_leak(real_deduped):
    codes = set(validate(real_deduped.out).findings["code"])
    assert "exact_leak" not in codes and "label_conflict" not in codes


def test_every_removed_copy_names_the_file_kept_in_its_place(real_deduped):
    m = real_deduped.manifest
    removed = m[m["status"].isin(["duplicate", "leak"])]
    assert len(removed) > 0
    kept_paths = set(real_deduped.kept["path"])
    named = removed["detail"].str.extract(r"^kept (\S+)")[0]
    assert named.isin(kept_paths).all()
    assert (real_deduped.out / named.iloc[0]).exists()


def test_every_input_row_is_still_in_the_manifest_after_dedupe(real_deduped):
    assert len(real_deduped.manifest) == 9460


def test_planted_copies_in_generated_sources_are_resolved_by_policy(demo_merged, demo_sources):
    m = demo_merged.manifest.set_index(["input", "source_path"])
    p = demo_sources.planted
    ((inp, a, b),) = p.exact_copies
    assert m.loc[(inp, a), "dup_group"] == m.loc[(inp, b), "dup_group"]
    assert sorted([m.loc[(inp, a), "status"], m.loc[(inp, b), "status"]]) == ["duplicate", "kept"]
    ((inp, train, test),) = p.leaks
    assert m.loc[(inp, train), "status"] == "kept"
    assert m.loc[(inp, test), "status"] == "leak"
    assert m.loc[(inp, train), "path"] in m.loc[(inp, test), "detail"]
    ((inp, x, y),) = p.conflicts
    assert m.loc[(inp, x), "status"] == m.loc[(inp, y), "status"] == "conflict"
    ((in1, p1, in2, p2),) = p.near_copies
    assert m.loc[(in1, p1), "dup_group"] == m.loc[(in2, p2), "dup_group"]
    assert m.loc[(in1, p1), "dup_kind"] == "near"


def _frame(rows):
    base = {"input": "in", "source_label": None, "pixel_sha256": None, "width": 80, "height": 80,
            "status": "kept", "reason": None, "detail": None}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])


def _row(path, split, label, phash, sha, source="kmirfan", width=80):
    return {"source_path": path, "split": split, "label": label, "phash": phash, "sha256": sha,
            "source": source, "width": width, "height": width}  # fmt: skip


def _statuses(frame, policy):
    groups = find_groups(frame, policy.threshold)
    decisions, moves = resolve(frame, groups, policy)
    status = {frame.at[d.row, "source_path"]: d.status.value for d in decisions}
    return status, {frame.at[i, "source_path"]: s for i, s in moves.items()}


def test_within_a_split_the_larger_image_is_kept():
    f = _frame(
        [
            _row("a.jpg", "train", "Happy", "ff00ff00ff00ff00", "1" * 64, width=48),
            _row("b.jpg", "train", "Happy", "ff00ff00ff00ff01", "2" * 64, width=96),
        ]
    )
    status, _ = _statuses(f, DedupePolicy())
    assert status == {"a.jpg": "duplicate"}


def test_at_equal_size_the_source_priority_decides():
    f = _frame(
        [
            _row("a.jpg", "train", "Happy", "ff00ff00ff00ff00", "1" * 64, source="kori"),
            _row("b.jpg", "train", "Happy", "ff00ff00ff00ff00", "2" * 64, source="kmirfan"),
        ]
    )
    status, _ = _statuses(f, DedupePolicy(source_priority=("kori", "kmirfan")))
    assert status == {"b.jpg": "duplicate"}


def test_a_leak_can_move_the_whole_group_to_train_instead():
    f = _frame(
        [
            _row("a.jpg", "train", "Fear", "0f0f0f0f0f0f0f0f", "1" * 64),
            _row("b.jpg", "test", "Fear", "0f0f0f0f0f0f0f0f", "2" * 64, width=200),
        ]
    )
    status, moves = _statuses(f, DedupePolicy(leaks=LeakPolicy.TO_TRAIN))
    assert moves == {"b.jpg": "train"}
    assert status == {"a.jpg": "duplicate"}  # b is larger, so b stays, now in train


def test_majority_keeps_the_majority_label_and_quarantines_the_rest():
    rows = [_row(f"{k}.jpg", "train", lab, "00ff00ff00ff00ff", f"{k}" * 64)
            for k, lab in enumerate(["Happy", "Happy", "Fear"])]  # fmt: skip
    status, _ = _statuses(_frame(rows), DedupePolicy(conflicts=ConflictPolicy.MAJORITY))
    assert status["2.jpg"] == "conflict"
    assert sorted(status.values()) == ["conflict", "duplicate"]
    quarantine, _ = _statuses(_frame(rows), DedupePolicy())
    assert sorted(quarantine.values()) == ["conflict"] * 3


def test_dedupe_is_idempotent(real_deduped):
    m = real_deduped.manifest
    policy = DedupePolicy()
    decisions, moves = resolve(m, find_groups(m, policy.threshold), policy)
    assert decisions == [] and moves == {}


def test_merging_with_no_dedupe_keeps_every_copy(demo_sources, tmp_path):
    res = merge(
        [InputSpec(p) for p in demo_sources.paths], tmp_path / "o", MergeOptions(dedupe=None)
    )
    assert not res.manifest["status"].isin(["duplicate", "leak", "conflict"]).any()
    assert res.manifest["dup_group"].isna().all()
