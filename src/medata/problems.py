"""The one vocabulary of data problems: stable codes with a default severity, for a manifest
row that is not kept (its ``reason``) and for a finding of ``medata validate`` alike. A code is
never renamed once released; the same problem has the same code wherever it is reported."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(str, Enum):
    """Every problem medata reports, by stable code."""

    # What became of an input file (the manifest's ``reason``; see ``FATES``)
    LABEL_EXCLUDED = (
        "label_excluded"  # a known class outside the six (sad, contempt) or mapped away
    )
    LABEL_UNKNOWN = "label_unknown"  # no folder on the path names a known class
    DEBRIS = "debris"  # .DS_Store, Thumbs.db, __MACOSX/, ._AppleDouble, hidden files
    NOT_IMAGE_FILE = "not_image_file"  # an extension that is not an image (README.txt, .csv)
    NESTED_ARCHIVE = "nested_archive"  # a zip inside the input; not opened
    LINKED_FOLDER = "linked_folder"  # a symbolic link to a folder; not followed
    EMPTY_FILE = "empty_file"
    UNDECODABLE = "undecodable"  # not an image, or the decoder failed
    TRUNCATED = "truncated"  # the image header is fine but the data ends early
    TOO_LARGE = "too_large"  # pixel count over the limit: refused before decoding
    UNSAFE_PATH = "unsafe_path"  # archive member with ../ or an absolute path
    LINK_OUTSIDE = "link_outside"  # a symbolic link that points outside the source
    UNREADABLE = "unreadable"  # permission denied or I/O error
    ENCRYPTED = "encrypted"  # encrypted archive member
    COMPRESSION_BOMB = "compression_bomb"  # absurd compression ratio; not extracted
    CHANGED_DURING_MERGE = "changed_during_merge"  # bytes differ between probe and copy
    DUPLICATE_OF = "duplicate_of"  # detail names the kept file
    LEAK_OF = "leak_of"  # detail names the train file kept
    LABEL_CONFLICT = "label_conflict"  # detail lists the labels in the group
    BAD_NAME = "bad_name"  # a file name that is not valid UTF-8 (shown with \xNN escapes)
    FORMAT_NOT_ALLOWED = "format_not_allowed"  # decodable, but not an allowed image format
    # Found by ``medata review``: report-only, a reason only when the user excludes that kind
    DARK = "dark"
    LIGHT = "light"
    BLURRY = "blurry"
    LOW_INFORMATION = "low_information"
    GREY_AS_COLOUR = "grey_as_colour"
    ODD_SIZE = "odd_size"
    ODD_ASPECT = "odd_aspect"
    LABEL_ISSUE = "label_issue"  # out-of-sample predictions disagree with the given label
    # Found by validate in a dataset folder (annotations.csv, files, manifest, reference)
    # annotations.csv
    CSV_MISSING = "csv_missing"
    CSV_UNREADABLE = "csv_unreadable"
    CSV_ENCODING = "csv_encoding"
    COLUMN_MISSING = "column_missing"
    COLUMN_UNKNOWN = "column_unknown"
    BAD_VALUE = "bad_value"
    UNKNOWN_LABEL = "unknown_label"
    UNKNOWN_SPLIT = "unknown_split"
    DUPLICATE_ROW = "duplicate_row"
    # rows against files
    PATH_ESCAPES = "path_escapes"
    FILE_MISSING = "file_missing"
    ORPHAN_FILE = "orphan_file"
    LABEL_MISMATCH = "label_mismatch"
    SPLIT_MISMATCH = "split_mismatch"
    # files
    NOT_IMAGE = "not_image"
    EXTENSION_MISMATCH = "extension_mismatch"
    EMPTY_CLASS_FOLDER = "empty_class_folder"
    MISSING_CLASS_FOLDER = "missing_class_folder"
    UNKNOWN_CLASS_FOLDER = "unknown_class_folder"
    SPLIT_WORD_IN_NAME = "split_word_in_name"
    # content against the manifest and a reference
    MANIFEST_UNREADABLE = "manifest_unreadable"
    NOT_IN_MANIFEST = "not_in_manifest"
    SHA256_CHANGED = "sha256_changed"
    REFERENCE_MISSING = "reference_missing"
    REFERENCE_EXTRA = "reference_extra"
    REFERENCE_CHANGED = "reference_changed"
    # duplicates by sha256
    EXACT_LEAK = "exact_leak"
    EXACT_DUPLICATE = "exact_duplicate"


# The codes a manifest row's reason may hold: the fates above (declared first, in this order).
FATES = frozenset(list(Code)[: list(Code).index(Code.LABEL_ISSUE) + 1])
# What ``medata review`` finds (``--fail-on`` of validate takes these).
REVIEW_KINDS = (Code.DARK, Code.LIGHT, Code.BLURRY, Code.LOW_INFORMATION, Code.GREY_AS_COLOUR,
                Code.ODD_SIZE, Code.ODD_ASPECT, Code.LABEL_ISSUE)  # fmt: skip

WARNINGS = frozenset({
    Code.COLUMN_UNKNOWN, Code.EXTENSION_MISMATCH, Code.DEBRIS, Code.EMPTY_CLASS_FOLDER,
    Code.MISSING_CLASS_FOLDER, Code.SPLIT_WORD_IN_NAME, Code.EXACT_DUPLICATE,
    # Leaks and conflicts are the dataset's content, not its integrity: warnings here (``--strict``
    # fails on them); ``medata dedupe`` resolves them.
    Code.EXACT_LEAK, Code.LABEL_CONFLICT,
    *REVIEW_KINDS,  # reported only when asked for (validate --fail-on makes them errors)
})  # fmt: skip


def severity_of(code: Code) -> Severity:
    """The default severity of a finding with this code."""
    return Severity.WARNING if code in WARNINGS else Severity.ERROR


@dataclass(frozen=True)
class Problem:
    """One problem, as a row of a findings table: its code and severity, the path it concerns and
    a one-line detail, plus structured fields where they apply (the CSV line, what was expected
    and what was found)."""

    code: Code
    severity: Severity
    path: str
    detail: str
    line: int | None = None
    expected: str | None = None
    actual: str | None = None


PROBLEM_COLUMNS = ("code", "severity", "path", "detail", "line", "expected", "actual")
