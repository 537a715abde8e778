"""Verification of near-duplicate candidates: same photo, or only a similar face?

Perceptual hashes of aligned faces are close for the same person with another expression (CK+
frames of one subject chain together at pHash distance 4). A candidate pair is therefore checked
on the probe's 48x48 grey thumbnails:

1. **Registration**: a similarity transform (scale, rotation, shift; brightness and contrast
   normalised away) that maps the second thumbnail onto the first, by Gauss-Newton
   (Lucas-Kanade) on a blurred, then sharp, image, from a few starts (as is, mirrored, and
   zoomed in or out by 15%), batched over pairs.
2. **Score**: zero-mean normalised correlation of the aligned central 36x36 pixels (``score``),
   and the lowest correlation of its nine 12x12 blocks after a high-pass (``blocks``: detail,
   not shading). A copy agrees everywhere; the same face with another expression disagrees
   around the eyes, brows or mouth, so its worst block is low even when its overall
   correlation is high (0.95 is typical).
3. **Frame**: the correlation of the blurred, aligned pictures over the whole 44x44 frame
   (``frame``): the light and the background. Different faces drawn to one layout line up in
   the centre like copies, by the thousand in a large set, but not in the frame.

Thresholds are calibrated in ``bench/bench_near.py`` on planted copies of real images, generated
faces with another expression and unrelated candidate pairs of the real archive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from medata.cluster import in_order
from medata.probe import THUMB

SIZE = THUMB  # the probe's thumbnail, 48x48
_C = (SIZE - 1) / 2.0
_B = SIZE // 4  # 3x3 blocks of _B pixels over the central 3*_B pixels
_CENTRE = slice((SIZE - 3 * _B) // 2, (SIZE - 3 * _B) // 2 + 3 * _B)
# The decision, calibrated in bench/bench_near.py: aligned correlation >= 0.90 and every detail
# block >= 0.75, or (a near-identical picture, e.g. a heavy re-encode) >= 0.99 and blocks >= 0.5.
MIN_SCORE, MIN_BLOCK = 0.90, 0.75
IDENTICAL_SCORE, IDENTICAL_BLOCK = 0.99, 0.50
# Registered with a zoom (over 4%) or a turn (over 3 degrees): >= 0.93 and blocks >= 0.80. Flat,
# low-detail faces (drawn ones) line up by chance at 0.92-0.94 / 0.75-0.79 under such freedom;
# real re-cropped copies score 0.94+ (1st percentile) with blocks 0.84+ (5th percentile).
MIN_SCORE_MOVED, MIN_BLOCK_MOVED = 0.93, 0.78
# And the whole frame agrees: the blurred pictures correlate >= 0.97 over the 44x44 frame (the
# part inside the other picture, clipped pixels left out), unless the centre agrees >= 0.98.
# Different drawn faces of one layout pass the centre's tests by the thousand among 48,800 (a
# face template under a similarity transform; their centres score <= 0.98), but their light and
# background differ (frame median 0.93). Real copies: 0.975+ (1st percentile of every planted
# kind), 0.983+ on the real archive's verified pairs (1st percentile); copies with an edited
# background or light pass on their centre (bench/bench_near.py).
MIN_FRAME, FRAME_FREE = 0.97, 0.98
# A registered pair whose coarse frame (every third pixel, at the coarse transform) is under
# this is not refined: it cannot reach MIN_FRAME. On 188,216 captured candidates of the
# generated and the real merge no verdict changes up to 0.965 (0.95: a 0.02 margin).
EARLY_FRAME = 0.95
# A pair registered mirrored *and* with a zoom or a turn: the frame must agree >= 0.98, or the
# centre >= 0.985. Among the 48,792 generated faces, 42 pairs of different drawn faces found
# through a mirror passed the other tests (frame 0.970-0.986, median 0.974; centre <= 0.983);
# 291 mirrored re-crops and turns of real faces, the original first, had frames >= 0.983 (1st
# percentile 0.988); a turned copy first puts its filled corners in the frame (0.945-0.98),
# and those centres agree >= 0.987.
MIN_FRAME_MIRRORED_MOVED, FREE_MIRRORED_MOVED = 0.98, 0.985
_EDGE = 2  # the frame: the thumbnail less this many pixels on each side
_DETAIL = 1.5  # high-pass: the image minus its blur at this sigma (pixels); the coarse
# registration works on the same blur
_CLIP = 4  # grey levels this close to 0 or 255 count as clipped
_STARTS = ((False, 1.0), (True, 1.0), (False, 1.15), (False, 1 / 1.15))
_BATCH = 4096
_CHUNK = 512  # pairs per task of verify_many


@dataclass(frozen=True)
class Verdict:
    """Per pair: the scores, and the transform found (``mirror``, ``scale``, ``angle`` degrees)."""

    score: np.ndarray
    blocks: np.ndarray
    mirror: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    frame: np.ndarray  # the whole frame's agreement (NaN where the centre already fails)

    @property
    def moved(self) -> np.ndarray:
        """Registered with a zoom or a turn (not only a shift)."""
        return _moved(self.scale, self.angle)

    @property
    def same(self) -> np.ndarray:
        moved = self.moved
        framed = (self.frame >= MIN_FRAME) | (self.score >= FRAME_FREE)
        # Mirrored and zoomed or turned: the most freedom to line up by chance (see below).
        strict = (self.frame >= MIN_FRAME_MIRRORED_MOVED) | (self.score >= FREE_MIRRORED_MOVED)
        framed = np.where(self.mirror & moved, strict, framed)
        return _decide(self.score, self.blocks, moved) & framed

    def kind(self) -> list[str]:
        """``mirror``, ``crop`` (zoomed, re-cropped or rotated) or ``near`` (the same framing)."""
        pairs = zip(self.mirror.tolist(), self.moved.tolist(), strict=True)
        return [("mirror" if m else "crop" if c else "near") for m, c in pairs]


def _moved(scale: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Registered with a zoom (over 4%) or a turn (over 3 degrees), not only a shift."""
    return (np.abs(np.log(scale)) > 0.04) | (np.abs(angle) > 3.0)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each image in a stack of SIZE x SIZE images (edges repeated, truncated
    at 3 sigma: ``scipy.ndimage.gaussian_filter``'s, up to float rounding), as two matrix
    products over the whole stack."""
    if sigma <= 0:
        return x
    g = blur_matrix(x.shape[-1], sigma)
    return np.matmul(g, x @ g.T)


@lru_cache(maxsize=8)
def blur_matrix(size: int, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """(size, size): a 1-D Gaussian blur with edges repeated, as a matrix (row i: the weights of
    the taps i - r .. i + r, those past an edge on the edge pixel)."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps /= taps.sum()
    m = np.zeros((size, size))
    for i in range(size):
        np.add.at(m[i], np.clip(i + offsets, 0, size - 1), taps)
    out = m.astype(np.float32)
    out.setflags(write=False)
    return out


_W = SIZE + 1  # padded width


def _quads(img: np.ndarray) -> np.ndarray:
    """Each image padded by one repeated row and column and flattened, so that the four
    neighbours of a pixel are at offsets 0, 1, _W and _W + 1."""
    pad = np.pad(img, ((0, 0), (0, 1), (0, 1)), mode="edge")
    return np.ascontiguousarray(pad, dtype=np.float32).reshape(-1)


def _taps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where bilinear samples at each image's own (x, y) points (edges clamped) read the
    ``_quads`` of a stack: the top-left neighbour's index, and the x and y weights."""
    x = np.clip(x, 0, SIZE - 1.001)
    y = np.clip(y, 0, SIZE - 1.001)
    x0, y0 = x.astype(np.int32), y.astype(np.int32)  # non-negative: floor
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    idx = (np.arange(len(x), dtype=np.int32) * (_W * _W))[:, None] + y0 * _W + x0
    return idx, fx, fy


def _sample(quads: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bilinear samples of each image (given as ``_quads``) at its own (x, y) points (edges
    clamped), and the interpolant's x and y derivatives."""
    idx, fx, fy = _taps(x, y)
    v00, v01 = quads[idx], quads[idx + 1]
    v10, v11 = quads[idx + _W], quads[idx + (_W + 1)]
    top, bottom = v00 + (v01 - v00) * fx, v10 + (v11 - v10) * fx
    dx = (v01 - v00) * (1 - fy) + (v11 - v10) * fy
    return top + (bottom - top) * fy, dx, bottom - top


def _values(images: tuple[np.ndarray, ...], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Bilinear samples (as ``_sample``'s first result) of several stacks of images at the same
    points: the taps are worked out once."""
    idx, fx, fy = _taps(x, y)
    out = []
    for img in images:
        quads = _quads(img)
        v00, v01 = quads[idx], quads[idx + 1]
        v10, v11 = quads[idx + _W], quads[idx + (_W + 1)]
        top, bottom = v00 + (v01 - v00) * fx, v10 + (v11 - v10) * fx
        out.append(top + (bottom - top) * fy)
    return out


_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
_MASK = np.zeros((SIZE, SIZE), dtype=bool)
_MASK[_CENTRE, _CENTRE] = True
_PX, _PY = (_XX[_MASK] - _C), (_YY[_MASK] - _C)  # template coordinates, centred
_FRAME = np.zeros((SIZE, SIZE), dtype=bool)
_FRAME[_EDGE : SIZE - _EDGE, _EDGE : SIZE - _EDGE] = True
# Every third pixel of the frame: where the coarse registration's frame is looked at.
_FRAME_SPARSE = np.zeros((SIZE, SIZE), dtype=bool)
_FRAME_SPARSE.flat[np.flatnonzero(_FRAME)[::3]] = True


def _standardise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=1, keepdims=True)
    return x / (np.sqrt((x**2).mean(axis=1, keepdims=True)) + 1e-6)


def _register(
    a: np.ndarray, b: np.ndarray, p: np.ndarray, steps: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton on p = (a, b, tx, ty): x' = (1+a) x - b y + tx, y' = b x + (1+a) y + ty,
    matching standardised samples of ``b`` to ``a`` (both already blurred as wanted) over the
    central mask (every ``stride``-th point). Returns p and the final mean squared error."""
    pts = slice(None, None, stride)
    ta = _standardise(a[:, _MASK][:, pts])
    bb = _quads(b)
    px, py = _PX[pts].astype(np.float32), _PY[pts].astype(np.float32)
    err = ta
    for _ in range(steps):
        s, r = 1 + p[:, 0:1], p[:, 1:2]
        x = s * px - r * py + p[:, 2:3] + _C
        y = r * px + s * py + p[:, 3:4] + _C
        w, ix, iy = _sample(bb, x, y)
        mu, sd = w.mean(axis=1, keepdims=True), np.sqrt(w.var(axis=1, keepdims=True)) + 1e-6
        err = (w - mu) / sd - ta
        ix, iy = ix / sd, iy / sd
        jac = np.stack([ix * px + iy * py, -ix * py + iy * px, ix, iy], axis=1)  # (n, 4, P)
        h = np.matmul(jac, jac.transpose(0, 2, 1)) + 1e-3 * np.eye(4, dtype=np.float32)
        g = np.matmul(jac, err[:, :, None])
        step = np.linalg.solve(h.astype(np.float64), -g.astype(np.float64))[..., 0]
        p = p + np.clip(step, -2.0, 2.0)
        p[:, 0] = np.clip(p[:, 0], -0.35, 0.45)
        p[:, 2:] = np.clip(p[:, 2:], -10, 10)
    return p, (err**2).mean(axis=1)


def _correlation(raw_a: np.ndarray, raw_b: np.ndarray) -> np.ndarray:
    """Zero-mean normalised correlation of each pair of sampled central windows."""
    return (_standardise(raw_b) * _standardise(raw_a)).mean(axis=1)


def _scores(
    a: np.ndarray, b: np.ndarray, p: np.ndarray, detail_a: np.ndarray, detail_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Correlation over the central 36x36 and the lowest of its nine 12x12 blocks; a block that
    falls partly outside the other image (a crop shows less) does not count. Blocks compare
    detail (eyes, brows, mouth), not the smooth shading: ``detail_a`` and ``detail_b`` are the
    images less their blur at ``_DETAIL``."""
    s, r = 1 + p[:, 0:1], p[:, 1:2]
    x = s * _PX - r * _PY + p[:, 2:3] + _C
    y = r * _PX + s * _PY + p[:, 3:4] + _C
    inside = (x >= -0.5) & (x <= SIZE - 0.5) & (y >= -0.5) & (y <= SIZE - 0.5)
    if not p.any():  # as they lie: no resampling needed
        raw_b, w = b[:, _MASK], detail_b[:, _MASK]
    else:
        raw_b, w = _values((b, detail_b), x, y)
    raw_a = a[:, _MASK]
    score = _correlation(raw_a, raw_b)
    n = len(a)
    ta = detail_a[:, _MASK]
    # Clipped pixels (a brightened or darkened copy) carry no detail: left out of the blocks.
    clear = _unclipped(raw_a, raw_b)

    def blocks(v: np.ndarray) -> np.ndarray:
        return v.reshape(n, 3, _B, 3, _B).transpose(0, 1, 3, 2, 4).reshape(n, 9, -1)

    corr, count = _masked_correlation(blocks(w), blocks(ta), blocks(clear))
    counted = blocks(inside).all(axis=2) & (count >= 0.5 * _B * _B)
    corr = np.where(counted, corr, np.inf)
    worst = corr.min(axis=1)
    return score, np.where(np.isfinite(worst), worst, -1.0)


def _frame(a: np.ndarray, b: np.ndarray, soft_a: np.ndarray, soft_b: np.ndarray,
           p: np.ndarray, points: np.ndarray = _FRAME) -> np.ndarray:  # fmt: skip
    """Correlation of the blurred images ``soft_a`` and ``soft_b`` (``b`` mapped by ``p``) over
    the frame (``points``: a mask of its pixels), where ``b`` lies inside its picture and
    neither is clipped: the light and the background, which the centre's tests do not see. 1.0
    where under a quarter of the frame is left to compare (no evidence against)."""
    raw_b, soft = np.empty((2, len(a), int(points.sum())), dtype=np.float32)
    inside = np.ones(raw_b.shape, dtype=bool)
    moved = np.flatnonzero(p.any(axis=1))
    if len(moved) < len(p):  # as they lie: the pixels themselves (what sampling gives)
        lie = np.flatnonzero(~p.any(axis=1))
        raw_b[lie], soft[lie] = b[lie][:, points], soft_b[lie][:, points]
    if len(moved):
        fx, fy = _XX[points] - _C, _YY[points] - _C
        q = p[moved]
        s, r = 1 + q[:, 0:1], q[:, 1:2]
        x = s * fx - r * fy + q[:, 2:3] + _C
        y = r * fx + s * fy + q[:, 3:4] + _C
        raw_b[moved], soft[moved] = _values((b[moved], soft_b[moved]), x, y)
        inside[moved] = (x >= -0.5) & (x <= SIZE - 0.5) & (y >= -0.5) & (y <= SIZE - 0.5)
    use = inside * _unclipped(a[:, points], raw_b)
    corr, count = _masked_correlation(soft, soft_a[:, points], use)
    return np.where(count >= 0.25 * use.shape[1], corr, 1.0)


def _unclipped(raw_a: np.ndarray, raw_b: np.ndarray) -> np.ndarray:
    """1.0 where neither grey level is clipped (within ``_CLIP`` of 0 or 255), else 0.0."""
    return ((raw_a > _CLIP) & (raw_a < 255 - _CLIP) & (raw_b > _CLIP)
            & (raw_b < 255 - _CLIP)).astype(np.float32)  # fmt: skip


def _masked_correlation(u: np.ndarray, v: np.ndarray,
                        mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Zero-mean normalised correlation of ``u`` and ``v`` over their last axis where ``mask``
    is 1, and how many values that was."""
    count = mask.sum(axis=-1, keepdims=True)
    safe = np.maximum(count, 1.0)
    u = (u - (u * mask).sum(axis=-1, keepdims=True) / safe) * mask
    v = (v - (v * mask).sum(axis=-1, keepdims=True) / safe) * mask
    num = (u * v).sum(axis=-1)
    den = np.sqrt((u**2).sum(axis=-1) * (v**2).sum(axis=-1)) + 1e-6
    return num / den, count[..., 0]


def _decide(score: np.ndarray, blocks: np.ndarray, moved: np.ndarray | None = None) -> np.ndarray:
    same = ((score >= MIN_SCORE) & (blocks >= MIN_BLOCK)) | (
        (score >= IDENTICAL_SCORE) & (blocks >= IDENTICAL_BLOCK)
    )
    if moved is not None:  # a zoom or a turn is more freedom to line up by chance: stricter
        same &= ~moved | ((score >= MIN_SCORE_MOVED) & (blocks >= MIN_BLOCK_MOVED))
    return same


@contextmanager
def verification_pool(workers: int | None = None) -> Iterator[Executor | None]:
    """A process pool for ``verify_many`` whose workers are all started on entry (None when one
    worker is asked for): after that, other threads may run without a fork ever happening."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from medata.probe import one_blas_thread, pool_context

    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=count, mp_context=pool_context(),
                             initializer=one_blas_thread) as pool:  # fmt: skip
        list(pool.map(int, range(count)))  # every worker started now, from this thread
        yield pool


@contextmanager
def pair_pool(client: Any, workers: int | None = None) -> Iterator[Executor | None]:
    """An executor for ``verify_many``: the Dask cluster's (``medata.cluster.ClusterMap``:
    results in order, a bounded number of tasks in flight) with a client, else a started local
    process pool (None on one core)."""
    if client is not None:
        from medata.cluster import ClusterMap

        yield ClusterMap(client)
        return
    with verification_pool(workers) as pool:
        yield pool


def verify_many(
    first: np.ndarray,
    second: np.ndarray,
    mirrored: np.ndarray | None = None,
    workers: int | None = None,
    advance: Callable[[int], None] | None = None,
    start: np.ndarray | None = None,
    pool: Executor | None = None,
    at: tuple[np.ndarray, np.ndarray] | None = None,
) -> Verdict:
    """``verify(first[k], second[k])`` for every k, or with ``at = (at_first, at_second)``
    ``verify(first[at_first[k]], second[at_second[k]])``, in fixed chunks of pairs over a
    process pool (``pool``: an already started one, see ``verification_pool``); ``advance(k)``
    after each chunk of k pairs. Each chunk's thumbnails are gathered only when it is handed
    out, and at most a few chunks per worker wait, so memory does not grow with the pairs."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from medata.probe import one_blas_thread, pool_context

    at_first, at_second = at if at is not None else (np.arange(len(first)),) * 2
    n = len(at_first)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    # The same chunks however many workers: float results do not depend on the pool.
    chunks = [slice(k, k + _CHUNK) for k in range(0, n, _CHUNK)] or [slice(0, 0)]
    jobs = (
        (first[at_first[c]], second[at_second[c]], None if mirrored is None else mirrored[c],
         None if start is None else start[c])
        for c in chunks
    )  # fmt: skip
    parts: list[Verdict] = []

    def done(v: Verdict) -> None:
        parts.append(v)
        if advance is not None:
            advance(len(v.score))

    if pool is not None and len(chunks) >= 2:
        for v in in_order(pool, _verify_job, jobs, 2 * workers):
            done(v)
    elif workers <= 1 or len(chunks) < 2:
        for job in jobs:
            done(_verify_job(job))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(),
                                 initializer=one_blas_thread) as own:  # fmt: skip
            for v in in_order(own, _verify_job, jobs, 2 * workers):
                done(v)
    fields = ("score", "blocks", "mirror", "scale", "angle", "frame")
    return Verdict(*(np.concatenate([getattr(v, f) for v in parts]) for f in fields))


def _verify_job(job: tuple[Any, ...]) -> Verdict:
    return verify(*job)


def verify(a: np.ndarray, b: np.ndarray, mirrored: np.ndarray | None = None,
           start: np.ndarray | None = None) -> Verdict:  # fmt: skip
    """Compare thumbnails ``a[k]`` and ``b[k]`` ((n, 48, 48) uint8) pair by pair.

    ``mirrored[k]`` says whether the candidate search matched ``b[k]`` mirrored (None: try both);
    ``start[k]`` (with ``mirrored``), where the search says the transform is (see
    ``medata.dedupe.views``): then registration starts there only.
    Pairs that already agree as they lie (re-encodes, resizes: most candidates) are decided
    without registration. The others start from each guess (as is or mirrored; zoomed in or
    out by 15%), are registered coarsely on blurred images, and the start with the lowest error
    is refined on the sharp images and scored."""
    n = len(a)
    out = {k: np.zeros(n) for k in ("score", "blocks", "angle")}
    out["scale"] = np.ones(n)
    out["frame"] = np.full(n, np.nan)
    params = np.zeros((n, 4))
    mirror = np.zeros(n, dtype=bool) if mirrored is None else mirrored.astype(bool).copy()
    for first in range(0, n, _BATCH):
        sl = slice(first, first + _BATCH)
        fa, fb = a[sl].astype(np.float32), b[sl].astype(np.float32)
        # One blur of each image serves the detail blocks and the coarse registration.
        blur_a, blur_b = _blur(fa, _DETAIL), _blur(fb, _DETAIL)
        hint = None if mirrored is None else mirror[sl]
        # As they lie (cheap: no resampling), unless the search says they are not aligned.
        lie = np.ones(len(fa), bool) if start is None else ~np.any(start[sl] != 0, axis=1)
        score, blocks = np.full(len(fa), -1.0), np.full(len(fa), -1.0)
        if lie.any():
            at = np.flatnonzero(lie)
            flip = np.zeros(len(at), bool) if hint is None else hint[at]
            fbm = _flipped(fb[at], flip)
            score[at] = _correlation(fa[at][:, _MASK], fbm[:, _MASK])
            # Only a pair that correlates as a copy must can be decided as it lies: the detail
            # blocks of the others are not measured (they are registered next).
            near = score[at] >= MIN_SCORE
            if near.any():
                k, fbm = at[near], fbm[near]
                bbm = _flipped(blur_b[k], flip[near])
                score[k], blocks[k] = _scores(fa[k], fbm, np.zeros((len(k), 4)),
                                              fa[k] - blur_a[k], fbm - bbm)  # fmt: skip
        out["score"][sl], out["blocks"][sl] = score, blocks
        todo = np.flatnonzero(~_decide(score, blocks))
        if len(todo):
            _register_into(out, params, mirror, first, todo, fa, fb, hint, start, blur_a, blur_b)
        # The centre agrees: does the whole frame?
        moved = _moved(out["scale"][sl], out["angle"][sl])
        check = np.flatnonzero(_decide(out["score"][sl], out["blocks"][sl], moved))
        if len(check):
            flip = mirror[sl][check]
            out["frame"][first + check] = _frame(fa[check], _flipped(fb[check], flip),
                                                 blur_a[check], _flipped(blur_b[check], flip),
                                                 params[first + check])  # fmt: skip
    return Verdict(out["score"], out["blocks"], mirror, out["scale"], out["angle"], out["frame"])


def _register_into(out: dict[str, np.ndarray], params: np.ndarray, mirror: np.ndarray,
                   first: int, todo: np.ndarray, fa: np.ndarray, fb: np.ndarray,
                   hint: np.ndarray | None, start: np.ndarray | None, blur_a: np.ndarray,
                   blur_b: np.ndarray) -> None:  # fmt: skip
    """Register the pairs ``todo`` of the batch starting at ``first`` and keep what scores
    better than they did as they lie (see ``verify``)."""
    sl = slice(first, first + len(fa))
    guess = None if start is None else start[sl][todo]
    r = _registered(fa[todo], fb[todo], None if hint is None else hint[todo], guess,
                    blur_a[todo], blur_b[todo])  # fmt: skip
    better = r[0] > out["score"][sl][todo]
    for key, values in zip(("score", "blocks"), r[:2], strict=True):
        out[key][first + todo[better]] = values[better]
    mirror[first + todo[better]] = r[2][better]
    out["scale"][first + todo[better]] = r[3][better]
    out["angle"][first + todo[better]] = r[4][better]
    params[first + todo[better]] = r[5][better]


def _flipped(x: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Each image of ``x`` mirrored left to right where ``flip`` says (a contiguous stack)."""
    return np.ascontiguousarray(np.where(flip[:, None, None], x[:, :, ::-1], x))


def _registered(fa: np.ndarray, fb: np.ndarray, hint: np.ndarray | None,
                guess: np.ndarray | None, coarse_a: np.ndarray,
                coarse_b: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Register and score the pairs (see ``verify``); ``coarse_a``, ``coarse_b``: the images
    blurred at ``_DETAIL``, which is also the coarse registration's blur."""
    m = len(fa)
    coarse_f = np.ascontiguousarray(coarse_b[:, :, ::-1])  # the blur is symmetric
    params, errors, flips_of = [], [], []
    for flip, scale in _STARTS:
        if hint is not None and (flip or scale != 1.0):
            continue  # the search says which way round, and its pHash match means no big zoom
        p = np.zeros((m, 4))
        p[:, 0] = scale - 1
        if guess is not None:
            p = guess.astype(np.float64).copy()
        use_flip = hint if hint is not None else np.full(m, flip)
        img = np.where(use_flip[:, None, None], coarse_f, coarse_b)
        p, err = _register(coarse_a, img, p, 6, stride=5)
        params.append(p)
        errors.append(err)
        flips_of.append(use_flip)
    err = np.stack(errors)
    pick = np.argmin(err, axis=0)
    flips = np.stack(flips_of)[pick, np.arange(m)]
    p = np.stack(params)[pick, np.arange(m)]
    # Standardised samples: mean squared error = 2 - 2 * correlation. A pair whose blurred,
    # registered images correlate below the sharp threshold is not refined (blur only raises
    # the correlation of aligned pictures): it keeps its coarse correlation and fails.
    coarse = 1 - err[pick, np.arange(m)] / 2
    score, blocks = coarse.astype(np.float64), np.full(m, -1.0)
    go = np.flatnonzero(coarse >= MIN_SCORE)
    # The second images the right way round, flipped once for the early test and refinement.
    fbm, cbm = _flipped(fb[go], flips[go]), _flipped(coarse_b[go], flips[go])
    if len(go):
        # Nor is a pair whose blurred frame already disagrees at the coarse transform (the frame
        # is measured on this blur; refinement only fine-tunes the transform), unless its
        # centre may agree well enough to need no frame: it would fail the frame check anyway.
        # Most candidates among drawn faces of one layout stop here (their centres line up).
        early = _frame(fa[go], fbm, coarse_a[go], cbm, p[go], _FRAME_SPARSE)
        refine = (early >= EARLY_FRAME) | (coarse[go] >= FRAME_FREE)
        go, fbm, cbm = go[refine], fbm[refine], cbm[refine]
    if len(go):
        q, _ = _register(_blur(fa[go], 0.7), _blur(fbm, 0.7), p[go], 3, stride=2)
        q, _ = _register(fa[go], fbm, q, 2, stride=2)
        score[go], blocks[go] = _scores(fa[go], fbm, q, fa[go] - coarse_a[go], fbm - cbm)
        p[go] = q
    zoom = np.hypot(1 + p[:, 0], p[:, 1])
    angle = np.degrees(np.arctan2(p[:, 1], 1 + p[:, 0]))
    return score, blocks, flips, zoom, angle, p
