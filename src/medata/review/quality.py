"""Image-quality findings from the manifest's property columns (``medata.properties``): no image
is decoded again.

Each source is its own population (a source of grey 48x48 faces beside one of colour 80x80 crops
is not "odd"): a property is scored as a robust z-score against its source's median and MAD
(1.4826 x median absolute deviation, floored so that a source where every image agrees does not
flag the first that differs by a hair). A source with fewer than ``MIN_POPULATION`` measured
images is scored against the whole dataset. Thresholds were calibrated on the real kmirfan
archive (bench/bench_review.py): each flags about 1% of its untouched images or fewer.

- ``dark``: the 95th percentile grey level's z below -``Z_BRIGHTNESS`` (even the bright parts
  are dark); ``light``: the 5th percentile's z above +``Z_BRIGHTNESS`` (even the dark parts are
  light): a dim but contrasty photo is neither;
- ``blurry``: log(sharpness / contrast^2) z below -``Z_BLUR``: the Laplacian relative to the image's
  own contrast, so a dark or flat image is not called blurry for being dark or flat;
- ``low_information``: entropy z below -``Z`` (not reported when dark or light explains it);
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

Z = 3.0  # entropy, size, aspect
Z_BRIGHTNESS = 2.5  # brightness spreads widely in real photos: a darkened copy sits at z ~ -3
Z_BLUR = 2.5
MIN_POPULATION = 50
GREY_SPREAD = 2.0  # JPEG chroma noise of a grey picture stays under ~1 grey level
Z_MEAN = 2.0  # dark and light also need the mean grey level this far out: a flat picture near
# the usual mean has low bright and high dark percentiles too, and is low_information instead
_FLOORS = {"brightness": 8.0, "low": 8.0, "high": 8.0, "blur": 0.15, "entropy": 0.1,
           "area": 0.1, "aspect": 0.05}  # fmt: skip
QUALITY_KINDS = (Code.DARK, Code.LIGHT, Code.BLURRY, Code.LOW_INFORMATION, Code.GREY_AS_COLOUR,
                 Code.ODD_SIZE, Code.ODD_ASPECT)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    row: int  # manifest index
    kind: Code
    score: float
    detail: str


def _measures(m: pd.DataFrame) -> pd.DataFrame:
    """The transformed properties that are scored (NaN where not measured)."""
    f = m[["brightness", "contrast", "sharpness", "entropy", "width", "height", "aspect",
           "grey_p05", "grey_p95"]].astype("float64")  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        blur = np.log((f["sharpness"] + 1.0) / (f["contrast"] ** 2 + 1.0))
        return pd.DataFrame({
            "brightness": f["brightness"], "low": f["grey_p05"], "high": f["grey_p95"],
            "blur": blur, "entropy": f["entropy"],
            "area": np.log(f["width"] * f["height"]), "aspect": np.log(f["aspect"]),
        }, index=m.index)  # fmt: skip


def _zscores(values: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """Robust z-scores of every column, each row against its population (its source)."""
    out = pd.DataFrame(np.nan, index=values.index, columns=values.columns)
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
    return out


def quality_findings(manifest: pd.DataFrame) -> list[Finding]:
    """Findings for every kept row, each scored against the measured kept rows of its source."""
    kept = manifest[manifest["status"] == "kept"]
    if kept.empty:
        return []
    z = _zscores(_measures(kept), kept["source"].astype(str))
    zb, zl, ze = z["brightness"], z["blur"], z["entropy"]
    # dark: even the brightest 5% of the picture is dark; light: even its darkest 5% is light
    dark = (z["high"] < -Z_BRIGHTNESS) & (zb < -Z_MEAN)
    light = (z["low"] > Z_BRIGHTNESS) & (zb > Z_MEAN)
    spread = kept["colour_spread"].astype("float64")
    flags = [
        (Code.DARK, dark, -z["high"]),
        (Code.LIGHT, light, z["low"]),
        (Code.BLURRY, zl < -Z_BLUR, -zl),
        (Code.LOW_INFORMATION, (ze < -Z) & ~dark & ~light, -ze),
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
        return (f"95% of the pixels under grey level {float(row['grey_p95']):.0f}, mean "
                f"{float(row['brightness']):.0f} (z {z['high']:+.1f})")  # fmt: skip
    if kind is Code.LIGHT:
        return (f"95% of the pixels over grey level {float(row['grey_p05']):.0f}, mean "
                f"{float(row['brightness']):.0f} (z {z['low']:+.1f})")  # fmt: skip
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
