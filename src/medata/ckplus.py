"""CK+ file names: ``S###_###_########.png`` is a subject, one of its sequences (one recorded
expression, neutral to peak) and a frame of it.

The name is the one reliable witness of what pixels cannot always tell apart: two frames of
*different* sequences are different recordings (another expression of the subject, or another
subject) however alike they look, and never near duplicates of each other (issue 11); frames of
one sequence may be. Names are read tolerantly (any number of 2-4 digit subject and sequence,
any frame part, any image extension), since copies of CK+ rename their frames."""

from __future__ import annotations

import posixpath
import re

_NAME = re.compile(r"^S(\d{2,4})_(\d{2,4})_\w+\.(?:png|jpe?g|bmp|tiff?|webp)$", re.IGNORECASE)


def sequence_of(path: str) -> str | None:
    """``S###_###`` (subject and sequence) of a CK+ frame's path, or None for any other name."""
    m = _NAME.match(posixpath.basename(path.replace("\\", "/")))
    if m is None:
        return None
    return f"S{int(m.group(1)):03d}_{int(m.group(2)):03d}"


def subject_of(path: str) -> str | None:
    """``S###`` (the subject) of a CK+ frame's path, or None for any other name: frames of one
    subject stay on one side of a split."""
    sequence = sequence_of(path)
    return None if sequence is None else sequence.split("_")[0]
