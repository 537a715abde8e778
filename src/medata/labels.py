"""Folder names -> canonical classes, and split folder names -> splits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from medata.errors import UsageError
from medata.guard import Refused, read_file
from medata.records import CLASSES

EXCLUDE = "exclude"

DEFAULT_ALIASES: dict[str, str] = {
    "anger": "Anger",
    "angry": "Anger",
    "mad": "Anger",
    "disgust": "Disgust",
    "disgusted": "Disgust",
    "disgusting": "Disgust",
    "fear": "Fear",
    "fearful": "Fear",
    "afraid": "Fear",
    "scared": "Fear",
    "happy": "Happy",
    "happiness": "Happy",
    "joy": "Happy",
    "neutral": "Neutral",
    "calm": "Neutral",
    "surprise": "Surprised",
    "surprised": "Surprised",
    # Known classes of the sources that are not among the six: excluded by default.
    "sad": EXCLUDE,
    "sadness": EXCLUDE,
    "contempt": EXCLUDE,
}

# Spellings of the same class outside the six: one name each, so that a group of "sad" and
# "sadness" files is not a label conflict.
EXCLUDED_NAMES: dict[str, str] = {"sad": "sad", "sadness": "sad", "contempt": "contempt"}

SPLIT_WORDS: dict[str, str] = {
    "train": "train",
    "training": "train",
    # Validation folders fold into train: medata's layout has train/test only, and the baseline
    # carves its own validation part out of train.
    "val": "train",
    "valid": "train",
    "validation": "train",
    "dev": "train",
    "test": "test",
    "testing": "test",
}


# Words that mislead loaders when they appear in a file name (some split by substring): merge
# removes them from output names, validate warns about them. One declaration for both.
SPLIT_WORD_IN_NAME = re.compile(
    r"(?<![a-z])(?:train|training|test|testing|val|valid|validation)(?![a-z])"
)


@dataclass(frozen=True)
class LabelMap:
    """Case-insensitive mapping of folder names to a canonical class or ``exclude``."""

    aliases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))

    def lookup(self, folder: str) -> str | None:
        """The canonical class, ``exclude``, or None when the name is not a known class."""
        return self.aliases.get(folder.strip().casefold())

    @classmethod
    def from_toml(cls, path: Path) -> LabelMap:
        """Default aliases updated by ``[labels]`` of a TOML file: ``sad = "exclude"``."""
        try:
            data = tomllib.loads(read_file(path, 1024 * 1024).decode("utf-8"))
        except Refused as exc:
            raise UsageError(f"cannot read label mapping {path}: {exc.detail}") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read label mapping {path}: {exc}") from exc
        table = data.get("labels")
        if not isinstance(table, dict):
            raise UsageError(f"label mapping {path} has no [labels] table")
        canon = {c.casefold(): c for c in CLASSES}
        aliases = dict(DEFAULT_ALIASES)
        for key, value in table.items():
            if not isinstance(value, str):
                raise UsageError(f"label mapping {path}: value for {key!r} must be a string")
            target = value.strip()
            if target.casefold() == EXCLUDE:
                aliases[key.casefold()] = EXCLUDE
            elif target.casefold() in canon:
                aliases[key.casefold()] = canon[target.casefold()]
            else:
                choices = ", ".join((*CLASSES, EXCLUDE))
                raise UsageError(
                    f"label mapping {path}: {key!r} -> {value!r} is not one of {choices}"
                )
        return cls(aliases)


def split_of(folder: str) -> str | None:
    return SPLIT_WORDS.get(folder.strip().casefold())
