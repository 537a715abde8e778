"""Why the view search: one descriptor per image against the views, on re-framed real faces.

    python bench/bench_descriptors.py [--copies 600] [--zip ../shared/data/micro-expressions.zip]

The view search (``medata.dedupe.views``) costs ~38 views an image, and that is what keeps it far
from the issue's million-image target (see ``bench_views.py --stages``). A search with one
descriptor per image would cost ~38 times less; this measures whether one descriptor could find
the copies. For ``--copies`` real faces of the kmirfan archive, planted copies of each kind of
``bench_near.py`` (made and probed the same way) are ranked against all 9,460 faces of the
archive: how often the face the copy was made from is among the copy's 2 nearest (the search
keeps 2 partners an image) and among its 20 nearest, by

- **the key alone**: the blurred 12x12 grid each image is keyed by, compared with every face's
  key and its mirror's (one descriptor, no views);
- **a learned linear descriptor**: Fisher's discriminant of planted copies, fitted here on copies
  of 3,000 *other* faces of the archive (within-copy scatter against the spread of the faces),
  32 dimensions of a blurred 16x16 grid (one descriptor an image, trained for these very kinds);
- **the views**: the best cosine of any view of either image against the other's key or its
  mirror's, on the full grid (what the view search scores before its lists approximate it).

Some faces of the archive are copies of one another, so a few ranks are lost to real copies in
every row alike.
"""

from __future__ import annotations

import argparse
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.linalg
from bench_near import EXTRA_KINDS, KINDS, ZIP
from PIL import Image

from medata.dedupe import views
from medata.dedupe.verify import blur_matrix
from medata.probe import THUMB, probe_bytes

GEOMETRIC = ["crop 80-92%", "mirror", "rotate 6-10deg", "crop+brightness", "upscale+crop"]
COMBINED = ["mirror + crop 80-92%", "mirror + rotate 6-10deg"]
Describe = Callable[[np.ndarray], np.ndarray]


def _thumb(data: bytes) -> np.ndarray:
    thumb = probe_bytes("copy", data).thumb
    assert thumb is not None
    return np.frombuffer(thumb, np.uint8).reshape(THUMB, THUMB)


def _mirrored(t: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(t[:, :, ::-1])


def _ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each row, how many columns score strictly above the true one."""
    own = scores[np.arange(len(truth)), truth]
    return (scores > own[:, None]).sum(axis=1)


def _one_descriptor(describe: Describe, faces: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Scores of copies against every face: the best of the face's descriptor and its mirror's."""
    plain, mirror = describe(faces), describe(_mirrored(faces))

    def scores(copies: np.ndarray) -> np.ndarray:
        d = describe(copies)
        return np.maximum(d @ plain.T, d @ mirror.T)

    return scores


def _grid(t: np.ndarray, size: int = 16, window: float = 0.85, sigma: float = 1.5) -> np.ndarray:
    """A blurred size x size bilinear grid of the central ``window`` of each thumbnail, less its
    mean, made unit (the input of the learned descriptor)."""
    b = blur_matrix(THUMB, sigma)
    x = np.matmul(b, t.astype(np.float32) @ b.T)
    pos = ((np.arange(size) + 0.5) / size - 0.5) * window * THUMB + (THUMB - 1) / 2
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, THUMB - 2)
    f = (pos - i0).astype(np.float32)
    rows = x[:, i0] * (1 - f)[None, :, None] + x[:, i0 + 1] * f[None, :, None]
    out = rows[:, :, i0] * (1 - f) + rows[:, :, i0 + 1] * f
    out = out.reshape(len(t), -1)
    out -= out.mean(axis=1, keepdims=True)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-3)


def _fisher(faces: np.ndarray, copies: np.ndarray, made_from: np.ndarray, dims: int = 32):
    """The ``dims`` directions that most separate faces relative to how copies move them."""
    plain, mirror = _grid(faces[made_from]), _grid(_mirrored(faces[made_from]))
    moved = _grid(copies)
    nearer = np.where(((moved * mirror).sum(1) > (moved * plain).sum(1))[:, None], mirror, plain)
    within = (moved - nearer).T @ (moved - nearer) / len(moved)
    spread = np.concatenate([_grid(faces), _grid(_mirrored(faces))])
    between = spread.T @ spread / len(spread)
    ridge = 1e-4 * np.trace(within) / len(within) * np.eye(len(within))
    _, vectors = scipy.linalg.eigh(between, within + ridge)
    w = vectors[:, ::-1][:, :dims].astype(np.float32)

    def describe(t: np.ndarray) -> np.ndarray:
        y = _grid(t) @ w
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-6)

    return describe


def _views(faces: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The best view of either image against the other's key or its mirror's (full grid)."""
    basis = np.eye(views.GRID * views.GRID, dtype=np.float32)
    keys = np.stack([views.key_vectors(faces), views.key_vectors(_mirrored(faces))])
    seen = [views.project(faces[k : k + 1000], basis) for k in range(0, len(faces), 1000)]
    face_views = np.concatenate(seen)  # (n, V, 144)

    def scores(copies: np.ndarray) -> np.ndarray:
        copy_keys = np.stack([views.key_vectors(copies), views.key_vectors(_mirrored(copies))])
        copy_views = views.project(copies, basis)  # (m, V, 144)
        best = np.full((len(copies), len(faces)), -np.inf, np.float32)
        for k in keys:  # the copy's views against the faces' keys
            for v in range(copy_views.shape[1]):
                np.maximum(best, copy_views[:, v] @ k.T, out=best)
        for k in copy_keys:  # the faces' views against the copy's keys
            for v in range(face_views.shape[1]):
                np.maximum(best, (face_views[:, v] @ k.T).T, out=best)
        return best

    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=600)
    ap.add_argument("--zip", type=Path, default=ZIP)
    args = ap.parse_args()
    with zipfile.ZipFile(args.zip) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".jpg"))
        data = [zf.read(n) for n in names]
    faces = np.stack([_thumb(d) for d in data])
    rng = random.Random(1)
    order = list(range(len(faces)))
    rng.shuffle(order)
    tested, fitted = np.array(order[: args.copies]), order[args.copies : args.copies + 3000]
    makers = {**KINDS, **EXTRA_KINDS}
    # The learned descriptor is fitted on copies (two of every geometric kind) of other faces.
    made_from, fit_copies = [], []
    for k in fitted:
        for _ in range(2):
            make = makers[rng.choice(GEOMETRIC + COMBINED)]
            fit_copies.append(_thumb(make(Image.open(io.BytesIO(data[k])), rng)))
            made_from.append(k)
    methods = {
        "key alone": _one_descriptor(views.key_vectors, faces),
        "learned linear descriptor (32 dims)": _one_descriptor(
            _fisher(faces, np.stack(fit_copies), np.array(made_from)), faces
        ),
        "best view (the view search)": _views(faces),
    }
    kinds = GEOMETRIC + COMBINED + ["re-encode q40-70", "brighten"]
    print(f"{len(faces):,} faces; {args.copies} copies of each kind; the face a copy was made "
          "from among its 2 / 20 nearest\n")  # fmt: skip
    print("| descriptor | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    copies = {kind: np.stack([_thumb(makers[kind](Image.open(io.BytesIO(data[k])), rng))
                              for k in tested]) for kind in kinds}  # fmt: skip
    for label, scores in methods.items():
        cells = []
        for kind in kinds:
            r = _ranks(scores(copies[kind]), tested)
            cells.append(f"{np.mean(r < 2):.0%} / {np.mean(r < 20):.0%}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
