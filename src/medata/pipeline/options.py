"""What a merge is asked to do, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from medata.dedupe.resolve import DedupePolicy
from medata.errors import UsageError
from medata.guard import MAX_FILE_BYTES
from medata.inputs import InputRef
from medata.labels import LabelMap
from medata.records import Status
from medata.remote import is_url, local_path
from medata.sources import get_source

LinkMode = Literal["copy", "hardlink", "symlink"]


@dataclass(frozen=True)
class InputSpec:
    """One input: a local folder or zip (a ``Path``), or an fsspec URL (a ``str`` such as
    ``s3://bucket/x.zip``; ``file://`` URLs become paths)."""

    path: Path | str
    kind: str | None = None  # a registered source name, or None to detect

    def __post_init__(self) -> None:
        if isinstance(self.path, str):
            local = local_path(self.path) if is_url(self.path) else self.path
            if local is not None:
                object.__setattr__(self, "path", Path(local))

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """``path``, ``url`` or ``kind=path`` / ``kind=url``."""
        kind, sep, rest = text.partition("=")
        if sep and kind and "/" not in kind and not Path(text).exists():
            get_source(kind)  # fails with the list of known kinds
            return cls(rest, kind.strip().lower())
        return cls(text)

    @property
    def local(self) -> Path | None:
        return self.path if isinstance(self.path, Path) else None


@dataclass(frozen=True)
class Resplit:
    test_size: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.test_size < 1.0:
            raise UsageError(f"--test-size must be between 0 and 1, got {self.test_size}")


@dataclass
class MergeOptions:
    labels: LabelMap = field(default_factory=LabelMap)
    resplit: Resplit | None = None
    link: LinkMode = "copy"
    replace: bool = False
    workers: int | None = None
    dedupe: DedupePolicy | None = field(default_factory=DedupePolicy)  # None: keep every copy
    resume: bool = True  # reuse probe results of an interrupted run into the same DIR
    max_file_bytes: int = MAX_FILE_BYTES  # per file or archive member, counted as read
    scheduler: str | None = None  # Dask: local, tcp://host:port or a scheduler file (cluster.py)

    def check(self) -> None:
        """Refuse nonsensical options before any work."""
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers must be 1 or more, got {self.workers}")
        if self.max_file_bytes < 1:
            raise UsageError("--max-file-mb must be more than 0")
        if self.link not in ("copy", "hardlink", "symlink"):
            raise UsageError(f"--link must be copy, hardlink or symlink, got {self.link!r}")


@dataclass
class DetectedInput:
    ref: InputRef
    source: str
    score: float
    explicit: bool
    files: int


@dataclass
class MergeResult:
    out: Path
    manifest: pd.DataFrame
    inputs: list[DetectedInput]
    resumed: int = 0  # probe results reused from an interrupted run

    @property
    def kept(self) -> pd.DataFrame:
        return self.manifest[self.manifest["status"] == Status.KEPT.value]

    def summary(self) -> dict[str, Any]:
        """Everything the CLI prints about this merge, as JSON-ready plain data."""
        from medata.statistics import merge_summary

        inputs = [
            {"input": d.ref.name, "source": d.source, "score": round(d.score, 3),
             "explicit": d.explicit, "files": d.files}
            for d in self.inputs
        ]  # fmt: skip
        return merge_summary(self.manifest, str(self.out), inputs)
