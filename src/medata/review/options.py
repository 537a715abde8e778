"""What ``medata review`` is asked to do, and the names it writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medata.errors import UsageError
from medata.problems import REVIEW_KINDS

REVIEW_FILE = "review.parquet"
REVIEW_COLUMNS = ("path", "kind", "score", "detail", "label", "suggested_label", "split",
                  "source", "source_path")  # fmt: skip
KIND_NAMES = tuple(k.value for k in REVIEW_KINDS)


@dataclass(frozen=True)
class LabelOptions:
    """Out-of-sample predictions for confident learning: ``folds`` models, each trained on the
    other folds (``quick``: the small, fast training of ``train-baseline --quick``)."""

    folds: int = 5
    quick: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise UsageError(f"--folds must be 2 or more, got {self.folds}")


@dataclass(frozen=True)
class ReviewOptions:
    labels: LabelOptions | None = None  # None: quality findings only
    exclude: tuple[str, ...] = ()  # kinds whose kept files leave the dataset
    sheets: Path | None = None  # folder for the pictures (None: <DIR>-review beside the dataset)
    pictures: bool = True
    per_sheet: int = 40
    sources: Sequence[Path] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_kinds(self.exclude, "--exclude")
        if self.per_sheet < 1:
            raise UsageError(f"--per-sheet must be 1 or more, got {self.per_sheet}")


def parse_kinds(text: str, option: str) -> tuple[str, ...]:
    """``blurry,label_issue`` -> the kinds, refusing unknown ones in one line."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    check_kinds(kinds, option)
    return kinds


def check_kinds(kinds: Sequence[str], option: str) -> None:
    """A one-line usage error naming the first kind that is not a review kind."""
    unknown = [k for k in kinds if k not in KIND_NAMES]
    if unknown:
        raise UsageError(f"{option}: unknown kind {unknown[0]!r} (one of {', '.join(KIND_NAMES)})")
