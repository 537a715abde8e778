"""probe_bytes: one decode gives every column; broken files get a reason, never an exception."""

from __future__ import annotations

import io
import random
import struct
import zlib

import imagehash
import pytest
from PIL import Image

from medata.demo.synth import draw_face
from medata.probe import MAX_PIXELS, phash_hex, probe_bytes


def _face(mode: str) -> Image.Image:
    return draw_face("surprised", random.Random(7)).convert(mode)


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16", "CMYK", "1", "LA"])
def test_phash_equals_imagehash_phash_in_every_colour_mode(mode):
    im = _face(mode)
    assert phash_hex(im) == str(imagehash.phash(im))


@pytest.mark.parametrize("seed", range(12))
def test_phash_equals_imagehash_phash_on_generated_faces(seed):
    rng = random.Random(seed)
    im = draw_face(rng.choice(["happy", "fear", "anger"]), rng, size=rng.choice([48, 80, 131]))
    assert phash_hex(im) == str(imagehash.phash(im))


@pytest.mark.parametrize("value", [0, 1, 128, 255])
def test_phash_of_a_flat_image_equals_imagehash_despite_ties_at_the_median(value):
    im = Image.new("L", (40, 40), value)
    assert phash_hex(im) == str(imagehash.phash(im))


def test_a_good_image_gets_every_column():
    data = _png_bytes(_face("RGB"))
    r = probe_bytes("k", data)
    assert r.problem is None
    assert (r.width, r.height, r.mode, r.format, r.bytes) == (96, 96, "RGB", "PNG", len(data))
    assert len(r.sha256) == 64 and len(r.pixel_sha256 or "") == 64 and len(r.phash or "") == 16


def test_the_same_pixels_in_two_encodings_share_the_pixel_hash_but_not_the_sha256():
    im = _face("L")
    png = _png_bytes(im)
    buf = io.BytesIO()
    im.save(buf, "BMP")
    a, b = probe_bytes("a", png), probe_bytes("b", buf.getvalue())
    assert a.sha256 != b.sha256
    assert a.pixel_sha256 == b.pixel_sha256


def test_a_truncated_jpeg_is_rejected_as_truncated():
    buf = io.BytesIO()
    _face("RGB").save(buf, "JPEG", quality=95)
    r = probe_bytes("k", buf.getvalue()[: len(buf.getvalue()) // 2])
    assert r.problem is not None and r.problem.value == "truncated"


def test_a_truncated_png_is_rejected():
    data = _png_bytes(_face("RGB"))
    r = probe_bytes("k", data[: len(data) // 2])
    assert r.problem is not None and r.problem.value in ("truncated", "undecodable")


def test_zero_bytes_are_rejected_as_an_empty_file():
    r = probe_bytes("k", b"")
    assert r.problem is not None and r.problem.value == "empty_file"


def test_text_saved_as_an_image_is_rejected_as_undecodable():
    r = probe_bytes("k", b"<html><body>404 Not Found</body></html>")
    assert r.problem is not None and r.problem.value == "undecodable"
    assert "\n" not in r.detail


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND") & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + crc + iend


@pytest.mark.parametrize("size", [(50_000, 50_000), (10_000, 5_000)])
def test_a_header_claiming_too_many_pixels_is_refused_before_decoding(size):
    assert size[0] * size[1] > MAX_PIXELS
    r = probe_bytes("k", _png_header_only(*size))
    assert r.problem is not None and r.problem.value == "too_large"
