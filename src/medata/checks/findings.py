"""The findings table of validate (codes and severities from ``medata.problems``): a collector
that can stop at the first error."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from medata.problems import PROBLEM_COLUMNS, Code, Problem, Severity, severity_of

FINDING_COLUMNS = PROBLEM_COLUMNS


class StopValidation(Exception):
    """Raised by the collector in fail-fast mode at the first error."""


@dataclass
class Findings:
    fail_fast: bool = False
    rows: list[Problem] = field(default_factory=list)

    def add(self, code: Code, path: str, detail: str, line: int | None = None,
            expected: object = None, actual: object = None,
            severity: Severity | None = None) -> None:  # fmt: skip
        sev = severity or severity_of(code)
        self.rows.append(Problem(code, sev, path, " ".join(detail.split()), line,
                                 None if expected is None else str(expected),
                                 None if actual is None else str(actual)))  # fmt: skip
        if self.fail_fast and sev is Severity.ERROR:
            raise StopValidation

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame({
            "code": pd.array([p.code.value for p in self.rows], dtype="string"),
            "severity": pd.array([p.severity.value for p in self.rows], dtype="string"),
            "path": pd.array([p.path for p in self.rows], dtype="string"),
            "detail": pd.array([p.detail for p in self.rows], dtype="string"),
            "line": pd.array([p.line for p in self.rows], dtype="Int64"),
            "expected": pd.array([p.expected for p in self.rows], dtype="string"),
            "actual": pd.array([p.actual for p in self.rows], dtype="string"),
        }, columns=list(FINDING_COLUMNS))  # fmt: skip
        return df.sort_values(["severity", "code", "path"], kind="stable").reset_index(drop=True)
