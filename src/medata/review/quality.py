"""Image-quality findings from the manifest's property columns (``medata.properties``): no image
is decoded again.

Each source is its own population (a source of grey 48x48 faces beside one of colour 80x80 crops
is not "odd"): a property is scored as a robust z-score against its source's median and MAD
(1.4826 x median absolute deviation, floored so that a source where every image agrees does not
flag the first that differs by a hair). A source with fewer than ``MIN_POPULATION`` measured
images is scored against the whole dataset. Thresholds were calibrated on the real kmirfan
archive (bench/bench_review.py): each flags about 1% of its untouched images or fewer.

- ``dark``: the 99th percentile grey level under ``DARK_RATIO`` of its source's median 99th
  percentile (even the brightest parts, eye whites, teeth, highlights, are dark: underexposed);
  ``light``: the 1st percentile's headroom below white under ``LIGHT_RATIO`` of the usual. A
  well-exposed dark-skinned face keeps its highlights and is not dark: z-score rules on the mean,
  the 95th or the 99th percentile flagged mostly such faces (we looked at the sheets);
- ``blurry``: log(sharpness / contrast^2) z below -``Z_BLUR``: the Laplacian relative to the image's
  own contrast, so a dark or flat image is not called blurry for being dark or flat;
- ``low_information``: entropy z below -``Z_ENTROPY`` (not reported when dark or light explains
  it);
- ``grey_as_colour``: a colour image whose channels differ by under ``GREY_SPREAD`` on average;
- ``odd_size``: log(width x height) z beyond +-``Z``; ``odd_aspect``: log(aspect) z beyond +-``Z``.

The score is the size of the z-score (``grey_as_colour``: ``GREY_SPREAD`` - spread), so a list
sorted by score puts the worst first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from medata.problems import Code

Z = 3.0  # size, aspect
# A face cropped tight has a narrow grey histogram whatever its exposure (pale babies, dark
# skin): z -3 flagged such faces too (we looked); a flattened copy sits near z -10.
Z_ENTROPY = 4.5
Z_BLUR = 2.5
MIN_POPULATION = 50
GREY_SPREAD = 2.0  # JPEG chroma noise of a grey picture stays under ~1 grey level
DARK_RATIO = 0.4  # a picture darkened to 0.3 of its levels: 0.3; the dimmest real ones ~0.42
LIGHT_RATIO = 0.4
_FLOORS = {"brightness": 8.0, "low": 8.0, "high": 8.0, "blur": 0.15, "entropy": 0.1,
           "area": 0.1, "aspect": 0.05}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    row: int  # manifest index
    kind: Code
    score: float
    detail: str


def _measures(m: pd.DataFrame) -> pd.DataFrame:
    """The transformed properties that are scored (NaN where not measured)."""
    f = m[["brightness", "contrast", "sharpness", "entropy", "width", "height", "aspect",
           "grey_p01", "grey_p99"]].astype("float64")  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        blur = np.log((f["sharpness"] + 1.0) / (f["contrast"] ** 2 + 1.0))
        return pd.DataFrame({
            "brightness": f["brightness"], "low": f["grey_p01"], "high": f["grey_p99"],
            "blur": blur, "entropy": f["entropy"],
            "area": np.log(f["width"] * f["height"]), "aspect": np.log(f["aspect"]),
        }, index=m.index)  # fmt: skip


def _zscores(values: pd.DataFrame, population: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Robust z-scores of every column, each row against its population (its source), and
    that population's medians, row by row."""
    out = pd.DataFrame(np.nan, index=values.index, columns=values.columns)
    medians = out.copy()
    measured = values["brightness"].notna()
    counts = population[measured].value_counts()
    small = set(counts[counts < MIN_POPULATION].index)
    groups = population.where(~population.isin(small), "\0all")
    for _, idx in values[measured].groupby(groups[measured]).groups.items():
        block = values.loc[idx]
        med = block.median()
        mad = (block - med).abs().median() * 1.4826
        for col in values.columns:
            out.loc[idx, col] = (block[col] - med[col]) / max(float(mad[col]), _FLOORS[col])
            medians.loc[idx, col] = med[col]
    return out, medians


def quality_findings(manifest: pd.DataFrame) -> list[Finding]:
    """Findings for every kept row, each scored against the measured kept rows of its source."""
    kept = manifest[manifest["status"] == "kept"]
    if kept.empty:
        return []
    values = _measures(kept)
    z, med = _zscores(values, kept["source"].astype(str))
    zl, ze = z["blur"], z["entropy"]
    # dark: even the brightest 1% of the picture uses under DARK_RATIO of the level its source's
    # pictures usually reach; light: even its darkest 1% leaves under LIGHT_RATIO of the usual
    # headroom below white.
    top = values["high"] / med["high"].clip(lower=1.0)
    headroom = (255.0 - values["low"]) / (255.0 - med["low"]).clip(lower=1.0)
    dark, light = top < DARK_RATIO, headroom < LIGHT_RATIO
    spread = kept["colour_spread"].astype("float64")
    flags = [
        (Code.DARK, dark, 1.0 - top),
        (Code.LIGHT, light, 1.0 - headroom),
        (Code.BLURRY, zl < -Z_BLUR, -zl),
        (Code.LOW_INFORMATION, (ze < -Z_ENTROPY) & ~dark & ~light, -ze),
        (Code.GREY_AS_COLOUR, spread < GREY_SPREAD, GREY_SPREAD - spread),
        (Code.ODD_SIZE, z["area"].abs() > Z, z["area"].abs()),
        (Code.ODD_ASPECT, z["aspect"].abs() > Z, z["aspect"].abs()),
    ]
    out: list[Finding] = []
    for kind, mask, score in flags:
        for i in kept.index[mask.fillna(False).to_numpy(dtype=bool)]:
            out.append(Finding(int(i), kind, round(float(score[i]), 3),
                               _detail(kind, kept.loc[i], z.loc[i])))  # fmt: skip
    return sorted(out, key=lambda f: (f.row, list(Code).index(f.kind)))


def _detail(kind: Code, row: pd.Series, z: pd.Series) -> str:
    size = f"{int(row['width'])}x{int(row['height'])}"
    if kind is Code.DARK:
        return (f"99% of the pixels under grey level {float(row['grey_p99']):.0f}, mean "
                f"{float(row['brightness']):.0f}")  # fmt: skip
    if kind is Code.LIGHT:
        return (f"99% of the pixels over grey level {float(row['grey_p01']):.0f}, mean "
                f"{float(row['brightness']):.0f}")  # fmt: skip
    if kind is Code.BLURRY:
        return (f"sharpness {float(row['sharpness']):.0f} at contrast "
                f"{float(row['contrast']):.0f} (z {z['blur']:+.1f})")  # fmt: skip
    if kind is Code.LOW_INFORMATION:
        return f"grey-level entropy {float(row['entropy']):.2f} bits (z {z['entropy']:+.1f})"
    if kind is Code.GREY_AS_COLOUR:
        return f"{row['mode']} image whose channels differ by {float(row['colour_spread']):.2f}"
    if kind is Code.ODD_SIZE:
        return f"{size} pixels (z {z['area']:+.1f} against its source)"
    return f"{size}, aspect {float(row['aspect']):.2f} (z {z['aspect']:+.1f})"
