"""The findings table: stable codes, severities, a collector that can stop at the first error."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pandas as pd


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(str, Enum):
    """Stable finding codes; never renamed once released. The value's severity is the default."""

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
    EMPTY_FILE = "empty_file"
    TRUNCATED = "truncated"
    UNDECODABLE = "undecodable"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"
    EXTENSION_MISMATCH = "extension_mismatch"
    DEBRIS = "debris"
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
    LABEL_CONFLICT = "label_conflict"
    EXACT_DUPLICATE = "exact_duplicate"


WARNINGS = frozenset({
    Code.COLUMN_UNKNOWN, Code.EXTENSION_MISMATCH, Code.DEBRIS, Code.EMPTY_CLASS_FOLDER,
    Code.MISSING_CLASS_FOLDER, Code.SPLIT_WORD_IN_NAME, Code.EXACT_DUPLICATE,
    # Leaks and conflicts are the dataset's content, not its integrity: warnings here (``--strict``
    # fails on them); ``medata dedupe`` resolves them.
    Code.EXACT_LEAK, Code.LABEL_CONFLICT,
})  # fmt: skip


def severity_of(code: Code) -> Severity:
    return Severity.WARNING if code in WARNINGS else Severity.ERROR


FINDING_COLUMNS = ("code", "severity", "path", "detail")


class StopValidation(Exception):
    """Raised by the collector in fail-fast mode at the first error."""


@dataclass
class Findings:
    fail_fast: bool = False
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, code: Code, path: str, detail: str) -> None:
        sev = severity_of(code)
        self.rows.append((code.value, sev.value, path, " ".join(detail.split())))
        if self.fail_fast and sev is Severity.ERROR:
            raise StopValidation

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=list(FINDING_COLUMNS), dtype="string")
        return df.sort_values(["severity", "code", "path"], kind="stable").reset_index(drop=True)
