"""validate(DIR): every check over a curated dataset, collected into one findings table.

Nothing in DIR is written. Checks run in the order the data was built: annotations.csv, the
folders, rows against files, the images themselves, the manifest, duplicates, a reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medata.checks.content import (
    check_exact_duplicates,
    check_hashes,
    inspect_files,
    load_manifest,
)
from medata.checks.csvfile import read_annotations
from medata.checks.findings import Findings, StopValidation
from medata.checks.layout import check_rows, scan_tree
from medata.checks.reference import compare, read_reference
from medata.errors import InputError, UsageError
from medata.guard import MAX_FILE_BYTES
from medata.problems import Code, Severity
from medata.progress import NullProgress, Progress


@dataclass(frozen=True)
class ValidateOptions:
    deep: bool = False  # decode every file, even those the manifest vouches for
    fail_fast: bool = False
    against: Path | None = None
    follow_links: bool = False  # accept links out of DIR (datasets merged with --link symlink)
    workers: int | None = None
    max_file_bytes: int = MAX_FILE_BYTES  # a larger file is reported too_large, never read whole
    scheduler: str | None = None  # decode on this Dask cluster (see medata.cluster)
    fail_on: tuple[str, ...] = ()  # review kinds reported as errors (medata.review)


@dataclass
class ValidationResult:
    root: Path
    findings: pd.DataFrame
    rows: int
    files: int
    decoded: int
    stopped_early: bool

    @property
    def errors(self) -> int:
        return int((self.findings["severity"] == Severity.ERROR.value).sum())

    @property
    def warnings(self) -> int:
        return int((self.findings["severity"] == Severity.WARNING.value).sum())


def validate(
    root: Path, options: ValidateOptions | None = None, progress: Progress | None = None
) -> ValidationResult:
    options = options or ValidateOptions()
    progress = progress or NullProgress()
    if not root.is_dir():
        raise UsageError(f"dataset folder not found: {root}")
    reference = read_reference(options.against) if options.against else None
    findings = Findings(fail_fast=options.fail_fast)
    counts = {"rows": 0, "files": 0, "decoded": 0}
    stopped = False
    try:
        _run(root, options, findings, reference, counts, progress)
    except StopValidation:
        stopped = True
    return ValidationResult(root, findings.frame(), counts["rows"], counts["files"],
                            counts["decoded"], stopped)  # fmt: skip


def _run(
    root: Path, options: ValidateOptions, findings: Findings, reference: pd.DataFrame | None,
    counts: dict[str, int], progress: Progress,
) -> None:  # fmt: skip
    df = read_annotations(root, findings)
    tree = scan_tree(root, findings, options.follow_links)
    counts["files"] = len(tree.files)
    rows = check_rows(df, root, tree, findings) if df is not None else {}
    counts["rows"] = 0 if df is None else len(df)
    manifest = load_manifest(root, findings)
    files = sorted(tree.files)
    progress.stage("check", len(files))
    facts = inspect_files(root, files, manifest, options.deep, findings, options.workers,
                          progress.advance, options.max_file_bytes, options.scheduler)  # fmt: skip
    counts["decoded"] = sum(1 for f in facts.values() if f.decoded)
    if df is None:
        return
    check_hashes(df, rows, facts, manifest, findings)
    check_exact_duplicates(df, rows, facts, findings)
    if reference is not None:
        _against(root, df, reference, findings)
    if options.fail_on:
        _review_kinds(root, options.fail_on, findings)


def _review_kinds(root: Path, kinds: tuple[str, ...], findings: Findings) -> None:
    """``--fail-on``: the chosen review kinds as errors. Quality kinds come from the manifest's
    properties (computed now); label issues from the ``review.parquet`` that ``medata review
    --labels`` wrote."""
    from medata.manifest import MANIFEST_FILE, read_manifest
    from medata.review.quality import quality_findings
    from medata.review.run import read_review

    quality = [k for k in kinds if k != Code.LABEL_ISSUE.value]
    if quality:
        try:
            m = read_manifest(root / MANIFEST_FILE)[0]
        except InputError:
            raise UsageError(
                f"--fail-on {','.join(quality)} needs the dataset's manifest"
            ) from None
        for f in quality_findings(m):
            if f.kind.value in quality:
                findings.add(f.kind, str(m.at[f.row, "path"]), f.detail, severity=Severity.ERROR)
    if Code.LABEL_ISSUE.value in kinds:
        found = read_review(root)
        if found is None or not found[1]:
            raise UsageError("--fail-on label_issue: no label review in this dataset (run "
                             "medata review DIR --labels first)")  # fmt: skip
        table = found[0]
        for row in table[table["kind"] == Code.LABEL_ISSUE.value].itertuples():
            findings.add(Code.LABEL_ISSUE, str(row.path), str(row.detail), expected=row.label,
                         actual=row.suggested_label, severity=Severity.ERROR)  # fmt: skip


def _against(root: Path, df: pd.DataFrame, reference: pd.DataFrame, findings: Findings) -> None:
    from medata.errors import InputError
    from medata.manifest import read_manifest

    path = root / "manifest.parquet"
    if path.exists():
        try:
            compare(read_manifest(path)[0], reference, findings, from_manifest=True)
            return
        except InputError:
            pass  # already reported as manifest_unreadable; fall back to the CSV
    compare(df, reference, findings, from_manifest=False)
