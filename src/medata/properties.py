"""Image properties measured in the probe's single decode, for ``medata review``.

They are computed for a whole partition at once (numpy over stacks), from what the probe already
makes of each image: the 32x32 grey thumbnail of the upright image that pHash is computed from
(Lanczos) and, for colour images, a 16x16 sample of its pixels. Rounded, so reruns give equal
manifests:

- ``brightness``: mean grey level (0-255);
- ``contrast``: standard deviation of the grey levels;
- ``sharpness``: variance of the 4-neighbour Laplacian (low: blurry or flat);
- ``entropy``: Shannon entropy of the grey histogram in bits (0-8; low: little information);
- ``colour_spread``: for a colour image, the mean over pixels of (largest - smallest channel);
  near 0 means a grey picture stored as colour. None for grey images;
- ``aspect``: width / height of the full image;
- ``grey_p01`` / ``grey_p99``: the 1st and 99th percentile grey levels. An underexposed picture
  has no bright part at all (eye whites, teeth, highlights), a washed-out one no dark part:
  unlike the mean, these do not call a well-exposed dark-skinned face dark.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PROPERTY_COLUMNS = ("brightness", "contrast", "sharpness", "entropy", "colour_spread", "aspect",
                    "grey_p01", "grey_p99")  # fmt: skip
COLOUR_SIDE = 16
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def colour_sample(im: Image.Image) -> np.ndarray | None:
    """A (16, 16, 3) uint8 RGB sample of a colour image's pixels (nearest, no filtering: a grey
    picture stored as colour has equal channels in every pixel); None for a grey image."""
    if im.mode in _GREY_MODES:
        return None
    sample = im.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.NEAREST)
    return np.asarray(sample if sample.mode == "RGB" else sample.convert("RGB"))


def grey_properties(thumbs: np.ndarray) -> dict[str, np.ndarray]:
    """(n, s, s) grey thumbnails (uint8 values) -> brightness, contrast, sharpness, entropy and
    the 5th/95th percentile grey levels, per image."""
    n = len(thumbs)
    g = thumbs.astype(np.float32)
    lap = (4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2]
           - g[:, 1:-1, 2:])  # fmt: skip
    flat = thumbs.reshape(n, -1)
    pixels = flat.shape[1]
    levels = flat.astype(np.intp) + (256 * np.arange(n, dtype=np.intp))[:, None]
    counts = np.bincount(levels.ravel(), minlength=256 * n).reshape(n, 256)
    p = counts / pixels
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    cdf = counts.cumsum(axis=1)
    last = pixels - 1  # the k-th smallest level (0-based) is the first whose cdf exceeds k

    def percentile(q: float) -> np.ndarray:
        return np.argmax(cdf > round(q * last), axis=1).astype(np.float64)

    return {
        "grey_p01": percentile(0.01),
        "grey_p99": percentile(0.99),
        "brightness": np.round(g.mean(axis=(1, 2)).astype(np.float64), 3),
        "contrast": np.round(g.std(axis=(1, 2)).astype(np.float64), 3),
        "sharpness": np.round(lap.var(axis=(1, 2)).astype(np.float64), 3),
        "entropy": np.round(entropy + 0.0, 4),
    }


def colour_spread(samples: np.ndarray) -> np.ndarray:
    """(n, s, s, 3) uint8 RGB samples -> mean per image of (largest - smallest channel)."""
    r, g, b = samples[..., 0], samples[..., 1], samples[..., 2]
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    return np.round(spread.mean(axis=(1, 2)).astype(np.float64), 3)
