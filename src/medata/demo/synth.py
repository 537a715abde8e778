"""Synthetic versions of the three source layouts: drawn faces whose expression follows the class.

Used by ``medata demo`` and by the tests. Everything is seeded, and archives get fixed timestamps,
so the same call gives byte-identical files. Planted problems (copies, leaks, conflicts, broken
files, debris, extra classes) are listed in the returned ``Planted`` record so tests can check that
each one is found without trusting the code under test.
"""

from __future__ import annotations

import io
import math
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

EXPRESSIONS = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprised", "contempt")
_ZIP_TIME = (2022, 11, 1, 0, 0, 0)


def draw_face(expression: str, rng: random.Random, size: int = 96) -> Image.Image:
    """A simple face: the brows, eyes and mouth depend on ``expression``; the rest is jitter."""
    if expression not in EXPRESSIONS:
        raise ValueError(f"unknown expression {expression!r}")
    bg = rng.randint(20, 90)
    im = _gradient(size, bg, rng.uniform(-50, 50), rng.uniform(0, 2 * math.pi))
    d = ImageDraw.Draw(im)
    s = size / 96 * rng.uniform(0.82, 1.08)
    cx, cy = size / 2 + rng.uniform(-9, 9) * s, size / 2 + 2 * s + rng.uniform(-8, 8) * s
    rx, ry = rng.uniform(28, 37) * s, rng.uniform(36, 46) * s
    skin = rng.randint(150, 230)
    if rng.random() < 0.7:  # hair: a dark cap of random height and width
        hair = rng.randint(0, 80)
        top = cy - ry - rng.uniform(2, 12) * s
        d.ellipse([cx - rx - rng.uniform(0, 8) * s, top, cx + rx + rng.uniform(0, 8) * s,
                   cy - ry * rng.uniform(0.1, 0.6)], fill=hair)  # fmt: skip
    d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=skin)
    light = _gradient(size, 0, rng.uniform(-45, 45), rng.uniform(0, 2 * math.pi))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    im = (
        Image.composite(ImageChops.add(im, light, offset=0), im, mask)
        if rng.random() < 0.5
        else Image.composite(ImageChops.subtract(im, light, offset=0), im, mask)
    )
    d = ImageDraw.Draw(im)
    ink = max(0, skin - rng.randint(110, 150))
    w = max(1, round(2.5 * s))
    eye_y, brow_y, mouth_y = cy - 10 * s, cy - 20 * s, cy + 18 * s
    eye_open = {"surprised": 6, "fear": 6, "anger": 2, "disgust": 2, "happy": 3}.get(expression, 4)
    for side in (-1, 1):
        ex = cx + side * 13 * s
        d.ellipse([ex - 5 * s, eye_y - eye_open * s, ex + 5 * s, eye_y + eye_open * s], fill=ink)
        inner, outer = ex - side * 8 * s, ex + side * 8 * s
        lift = {
            "surprised": (-8, -8),
            "fear": (-9, -3),
            "sad": (-7, 0),
            "anger": (6, -3),
            "disgust": (4, 0),
        }.get(expression, (0, 0))
        if expression == "contempt":
            lift = (-3, -3) if side > 0 else (0, 0)
        d.line([inner, brow_y + lift[0] * s, outer, brow_y + lift[1] * s], fill=ink, width=w)
    mw = rng.uniform(13, 17) * s
    if expression == "happy":
        d.arc([cx - mw, mouth_y - 12 * s, cx + mw, mouth_y + 8 * s], 20, 160, fill=ink, width=w + 1)
    elif expression == "sad":
        d.arc([cx - mw, mouth_y, cx + mw, mouth_y + 16 * s], 200, 340, fill=ink, width=w + 1)
    elif expression == "surprised":
        d.ellipse([cx - 7 * s, mouth_y - 6 * s, cx + 7 * s, mouth_y + 10 * s], fill=ink)
    elif expression == "fear":
        d.rectangle([cx - mw, mouth_y - 2 * s, cx + mw, mouth_y + 5 * s], fill=ink)
    elif expression == "disgust":
        pts = [(cx - mw + i * mw / 4, mouth_y + (3 if i % 2 else -3) * s) for i in range(9)]
        d.line(pts, fill=ink, width=w)
        d.line([cx - 4 * s, cy - 2 * s, cx + 4 * s, cy + 1 * s], fill=ink, width=w)
    elif expression == "contempt":
        d.line([cx - mw, mouth_y, cx + mw, mouth_y - 7 * s], fill=ink, width=w)
    else:  # neutral, anger
        tight = 0.6 if expression == "anger" else 1.0
        d.line([cx - mw * tight, mouth_y, cx + mw * tight, mouth_y], fill=ink, width=w + 1)
    im = im.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, fillcolor=bg)
    # Grain drawn from ``rng`` (Pillow's effect_noise draws from the C library's global rand(),
    # so a face would depend on how many were drawn before it in the process).
    noise = np.random.default_rng(rng.getrandbits(64)).normal(
        128.0, rng.uniform(4, 12), (size, size)
    )
    im = Image.blend(im, Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)), 0.08)
    # Low-frequency shading (a 4x4 random field, smoothly upscaled): real photos differ in light
    # and background, which is what a perceptual hash sees; without it different drawn faces of
    # one layout would hash alike.
    field = Image.new("L", (4, 4))
    field.putdata([rng.randint(0, 255) for _ in range(16)])
    shade = field.resize((size, size), Image.Resampling.BICUBIC)
    return Image.blend(im, shade, rng.uniform(0.25, 0.4))


def _gradient(size: int, base: int, amplitude: float, angle: float) -> Image.Image:
    """A grey image: ``base`` plus a linear ramp of +-``amplitude`` along ``angle``."""
    ramp = Image.linear_gradient("L").resize((size, size)).rotate(math.degrees(angle))
    lo, hi = max(0, base - abs(amplitude)), min(255, base + abs(amplitude))
    return ramp.point(lambda v: int(lo + (hi - lo) * v / 255))


def encode(
    im: Image.Image, fmt: str, size: int | None = None, mode: str = "L", quality: int = 90
) -> bytes:
    if size is not None:
        im = im.resize((size, size), Image.Resampling.BILINEAR)
    im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


@dataclass
class Planted:
    """What the generator put in, by input name and member path."""

    exact_copies: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (input, original, copy)
    near_copies: list[tuple[str, str, str, str]] = field(default_factory=list)  # (in1, p1, in2, p2)
    leaks: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (input, train path, test path)
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # (input, path a, path b)
    corrupt: list[tuple[str, str]] = field(default_factory=list)
    empty: list[tuple[str, str]] = field(default_factory=list)
    debris: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SourceFiles:
    """One input under construction: member path -> bytes."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)

    def write_zip(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member in sorted(self.files):
                info = zipfile.ZipInfo(member, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, self.files[member])
        return path

    def write_dir(self, root: Path) -> Path:
        for member in sorted(self.files):
            dest = root / member
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(self.files[member])
        return root


_KM = {
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "surprise": "surprised",
}
_KORI = {k: v for k, v in _KM.items() if k != "neutral"}
_FER = {
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprised": "surprised",
}
_CK = {
    "anger": "anger",
    "contempt": "contempt",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sad": "sad",
    "surprised": "surprised",
}


def kmirfan(n: int, rng: random.Random) -> SourceFiles:
    src = SourceFiles("micro-expressions.zip")
    for split, count in (("train", n), ("test", max(2, n // 3))):
        for folder, expr in _KM.items():
            for i in range(1, count + 1):
                im = draw_face(expr, rng)
                src.files[f"Micro_Expressions/{split}/{folder}/{folder}{i}.jpg"] = encode(
                    im, "JPEG", 80, "RGB"
                )
    return src


def ziya07(n: int, rng: random.Random) -> SourceFiles:
    src = SourceFiles("facial-micro-expression-recognition.zip")
    number = 0
    for folder, expr in _FER.items():
        for _ in range(n):
            number += rng.randint(1, 7)
            src.files[f"Facial Micro Expressions/fer2013/{folder}/{number}.jpg"] = encode(
                draw_face(expr, rng), "JPEG", 48, "L"
            )
    for folder, expr in _CK.items():
        for i in range(max(3, n // 3)):
            subject, seq = 10 + (i // 3) * 3 + len(folder) % 3, 1 + i % 3
            for frame in range(11, 14):
                name = f"S{subject:03d}_{seq:03d}_{frame:08d}.png"
                src.files[f"CK+/{folder}/{name}"] = encode(draw_face(expr, rng), "PNG", 48, "L")
    return src


def kori(n: int, rng: random.Random) -> SourceFiles:
    src = SourceFiles("microexpression")
    for folder, expr in _KORI.items():
        for i in range(1, n + 1):
            im = draw_face(expr, rng)
            if i % 3 == 0:
                data = encode(im, "PNG", rng.choice((64, 96, 128)), "L")
                src.files[f"{folder}/{folder}{i}.png"] = data
            else:
                data = encode(im, "JPEG", rng.choice((96, 112, 160)), "RGB")
                src.files[f"{folder}/{folder}{i}.jpg"] = data
    return src


def plant(km: SourceFiles, zy: SourceFiles, ko: SourceFiles) -> Planted:
    """Copies, leaks, conflicts, broken files and debris, as real downloads have them."""
    p = Planted()
    base = "Micro_Expressions"
    # Byte-identical copy inside one class folder.
    a, b = f"{base}/train/anger/anger1.jpg", f"{base}/train/anger/anger900.jpg"
    km.files[b] = km.files[a]
    p.exact_copies.append((km.name, a, b))
    # The same image in train and in test.
    a, b = f"{base}/train/happiness/happiness1.jpg", f"{base}/test/happiness/happiness900.jpg"
    km.files[b] = km.files[a]
    p.leaks.append((km.name, a, b))
    # The same image under two classes.
    a, b = f"{base}/train/anger/anger2.jpg", f"{base}/train/disgust/disgust900.jpg"
    km.files[b] = km.files[a]
    p.conflicts.append((km.name, a, b))
    # A resized, re-encoded grey near copy in another source.
    a = f"{base}/train/surprise/surprise1.jpg"
    im = Image.open(io.BytesIO(km.files[a]))
    b = "surprise/surprise900.png"
    ko.files[b] = encode(im, "PNG", 100, "L")
    p.near_copies.append((km.name, a, ko.name, b))
    # Broken files.
    full = km.files[f"{base}/train/fear/fear1.jpg"]
    km.files[f"{base}/train/fear/fear901.jpg"] = full[: len(full) // 2]
    p.corrupt.append((km.name, f"{base}/train/fear/fear901.jpg"))
    ko.files["surprise/surprise0.jpg"] = b""
    p.empty.append((ko.name, "surprise/surprise0.jpg"))
    # Debris.
    km.files[f"__MACOSX/{base}/train/anger/._anger1.jpg"] = b"\x00\x05\x16\x07" + b"\x00" * 60
    p.debris.append((km.name, f"__MACOSX/{base}/train/anger/._anger1.jpg"))
    ko.files[".DS_Store"] = b"\x00\x00\x00\x01Bud1" + b"\x00" * 40
    p.debris.append((ko.name, ".DS_Store"))
    zy.files["CK+/.DS_Store"] = b"\x00\x00\x00\x01Bud1" + b"\x00" * 40
    p.debris.append((zy.name, "CK+/.DS_Store"))
    return p


@dataclass
class DemoSources:
    kmirfan: Path
    ziya07: Path
    kori: Path
    planted: Planted
    counts: dict[str, dict[str, int]]  # input name -> member path kind -> count (for tests)

    @property
    def paths(self) -> list[Path]:
        return [self.ziya07, self.kmirfan, self.kori]


def make_sources(root: Path, n: int = 12, seed: int = 0) -> DemoSources:
    """Write the three sources under ``root``: two zips and a folder."""
    rng = random.Random(seed)
    km, zy, ko = kmirfan(n, rng), ziya07(n, rng), kori(n, rng)
    planted = plant(km, zy, ko)
    root.mkdir(parents=True, exist_ok=True)
    counts = {s.name: {"files": len(s.files)} for s in (km, zy, ko)}
    return DemoSources(
        kmirfan=km.write_zip(root / km.name),
        ziya07=zy.write_zip(root / zy.name),
        kori=ko.write_dir(root / ko.name),
        planted=planted,
        counts=counts,
    )


__all__ = ["DemoSources", "Planted", "draw_face", "make_sources"]
