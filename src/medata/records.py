"""The canonical record: manifest and annotation columns, statuses and reason codes, declared once.

Everything else (the Parquet writer, the JSON schemas under ``schemas/``, validation) refers to
these declarations, so a column cannot drift between code and documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from medata.problems import FATES, Code

SCHEMA_VERSION = 1

CLASSES: tuple[str, ...] = ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Surprised")
SPLITS: tuple[str, ...] = ("train", "test")
DUP_KINDS: tuple[str, ...] = ("exact", "near", "mirror", "crop")


class Status(str, Enum):
    """What became of one input file."""

    KEPT = "kept"
    EXCLUDED = "excluded"  # deliberately left out (label not wanted, debris, not an image)
    REJECTED = "rejected"  # could not be used (broken, unsafe, unreadable)
    DUPLICATE = "duplicate"  # a copy of a kept file in the same split
    LEAK = "leak"  # a test copy of a train file
    CONFLICT = "conflict"  # the same picture under two labels: quarantined


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # one of: string, int64, float64, bool, binary
    nullable: bool
    description: str
    enum: tuple[str, ...] | None = None
    pattern: str | None = None


MANIFEST_COLUMNS: tuple[Column, ...] = (
    Column("path", "string", True, "Output path relative to the dataset root; null if not kept."),
    Column("split", "string", True, "train or test; null if the file has none.", enum=SPLITS),
    Column("label", "string", True, "Canonical class; null if excluded or unknown.", enum=CLASSES),
    Column("source", "string", False, "Source kind: kmirfan, ziya07, kori or generic."),
    Column("input", "string", False, "Base name of the input folder or archive."),
    Column("source_path", "string", False, "Path of the file inside its input (POSIX)."),
    Column("source_label", "string", True, "The class folder name as found in the source."),
    Column("source_split", "string", True, "The split as found in the source, if any."),
    Column("group", "string", True, "Group key for group-aware splits (CK+ subject)."),
    Column("sha256", "string", True, "sha256 of the file bytes.", pattern=r"^[0-9a-f]{64}$"),
    Column(
        "pixel_sha256",
        "string",
        True,
        "sha256 of mode, size and decoded pixels.",
        pattern=r"^[0-9a-f]{64}$",
    ),
    Column(
        "phash",
        "string",
        True,
        "64-bit pHash (imagehash.phash), 16 hex digits.",
        pattern=r"^[0-9a-f]{16}$",
    ),
    Column(
        "phash_mirror",
        "string",
        True,
        "pHash of the horizontally mirrored image: finds mirrored copies.",
        pattern=r"^[0-9a-f]{16}$",
    ),
    Column(
        "thumb",
        "binary",
        True,
        "48x48 grey thumbnail of the upright image (2,304 bytes, row-major), for verifying near "
        "duplicates without the images.",
    ),
    Column("width", "int64", True, "Width in pixels."),
    Column("height", "int64", True, "Height in pixels."),
    Column("mode", "string", True, "PIL colour mode (L, RGB, ...)."),
    Column("format", "string", True, "Detected image format (JPEG, PNG, ...)."),
    Column("bytes", "int64", True, "File size in bytes."),
    Column(
        "exif_orientation",
        "int64",
        True,
        "EXIF orientation (2-8) when the image was rotated upright before hashing.",
    ),
    Column("brightness", "float64", True, "Mean grey level, 0-255 (medata.properties)."),
    Column("contrast", "float64", True, "Standard deviation of the grey levels."),
    Column(
        "sharpness",
        "float64",
        True,
        "Variance of the 4-neighbour Laplacian of the grey image (low: blurry or flat).",
    ),
    Column("entropy", "float64", True, "Entropy of the grey histogram in bits, 0-8."),
    Column(
        "colour_spread",
        "float64",
        True,
        "Colour images: mean of (largest - smallest channel) per pixel; near 0 is a grey "
        "picture stored as colour. Null for grey images.",
    ),
    Column("aspect", "float64", True, "Width / height."),
    Column("grey_p01", "float64", True, "1st percentile grey level (a washed-out image: high)."),
    Column("grey_p99", "float64", True, "99th percentile grey level (an underexposed image: low)."),
    Column(
        "mtime_ns",
        "int64",
        True,
        "Modification time of the output file (copied from the source, so deterministic); "
        "validate trusts an unchanged size and mtime instead of decoding again.",
    ),
    Column("dup_group", "string", True, "Duplicate group id (g00001...), null if in none."),
    Column(
        "dup_kind",
        "string",
        True,
        "exact (same bytes or pixels), or a verified near copy: near (same framing), mirror, "
        "or crop (re-cropped, zoomed or rotated).",
        enum=DUP_KINDS,
    ),
    Column(
        "dup_score",
        "float64",
        True,
        "Verification score (aligned correlation, 1 = identical) of the near pair that joined "
        "this row to its group; 1.0 for exact copies.",
    ),
    Column(
        "status",
        "string",
        False,
        "kept, excluded or rejected.",
        enum=tuple(s.value for s in Status),
    ),
    Column(
        "reason",
        "string",
        True,
        "Reason code when not kept (a code of medata.problems).",
        enum=tuple(c.value for c in Code if c in FATES),
    ),
    Column("detail", "string", True, "One-line human detail for the reason."),
)

ANNOTATION_COLUMNS: tuple[Column, ...] = (
    Column("file_name", "string", False, "Image path relative to the dataset root."),
    Column("label", "string", False, "Canonical class.", enum=CLASSES),
    Column("split", "string", False, "train or test.", enum=SPLITS),
    Column("source", "string", False, "Source kind."),
    Column("source_path", "string", False, "Path inside the original input."),
    Column("sha256", "string", False, "sha256 of the file bytes.", pattern=r"^[0-9a-f]{64}$"),
)

MANIFEST_NAMES: tuple[str, ...] = tuple(c.name for c in MANIFEST_COLUMNS)
ANNOTATION_NAMES: tuple[str, ...] = tuple(c.name for c in ANNOTATION_COLUMNS)

HASH_RECIPE: dict[str, str] = {
    "sha256": "hashlib.sha256(file bytes)",
    "pixel_sha256": "sha256(mode + '\\0' + 'WxH' + '\\0' + Image.tobytes()) after a full decode; "
    "palette images (P, PA) converted to RGB (RGBA with transparency) first: what a viewer sees",
    "dup_group": "connected components of pairs with equal sha256, equal pixel_sha256, or "
    "phash (or the mirror's phash) within the threshold (medata.dedupe in the metadata) "
    "and verified on the thumbnails (medata.dedupe.verify)",
    "thumb": "convert('L').resize((48, 48), LANCZOS) of the upright image, uint8 row-major",
    "orientation": "images with an EXIF orientation of 2-8 are transposed upright "
    "(PIL.ImageOps.exif_transpose) before width, height, pixel_sha256 and phash",
    "phash": "imagehash.phash(image) == DCT-II of convert('L').resize((32,32), LANCZOS), "
    "top-left 8x8 > median, row-major bits as 16 hex digits",
}


def json_schema(columns: tuple[Column, ...], title: str) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for one row of a table declared by ``columns``."""
    props: dict[str, Any] = {}
    for c in columns:
        kinds = {"int64": "integer", "float64": "number", "binary": "string"}
        base: dict[str, Any] = {"type": kinds.get(c.dtype, "string")}
        if c.dtype == "binary":
            base["contentEncoding"] = "base64"
        if c.dtype == "bool":
            base = {"type": "boolean"}
        if c.enum is not None:
            base["enum"] = list(c.enum)
        if c.pattern is not None:
            base["pattern"] = c.pattern
        base["description"] = c.description
        props[c.name] = {"anyOf": [base, {"type": "null"}]} if c.nullable else base
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "x-medata-schema-version": SCHEMA_VERSION,
        "type": "object",
        "properties": props,
        "required": [c.name for c in columns],
        "additionalProperties": False,
    }


def exported_schemas() -> dict[str, dict[str, Any]]:
    """File name under ``schemas/`` -> schema document."""
    return {
        "manifest.schema.json": json_schema(MANIFEST_COLUMNS, "medata manifest row"),
        "annotations.schema.json": json_schema(ANNOTATION_COLUMNS, "medata annotations.csv row"),
    }
