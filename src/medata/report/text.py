"""Names are data: make any text safe for a terminal, a log line or rich markup.

File and folder names come from untrusted inputs. Before one reaches a terminal, its control
characters (C0, DEL, C1 such as the 8-bit CSI, line and paragraph separators, bidirectional
overrides) are shown as Python escapes (``\\x1b``, ``\\n``), and rich markup (``[/]``) is escaped
wherever rich renders it.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
MAX_MESSAGE = 500


def visible(text: str) -> str:
    """``text`` with every control or bidi character written as an escape sequence."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message on one line of at most ``limit`` characters, control characters escaped."""
    shown = visible(" ".join(text.split("\n")).strip())
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def markup_safe(value: Any) -> Any:
    """``value`` with every string (also inside dicts, lists and data frames) made safe for rich:
    control characters escaped, then rich markup escaped. Other values are returned as they are."""
    from rich.markup import escape

    if isinstance(value, str):
        return escape(visible(value))
    if isinstance(value, dict):
        return {markup_safe(k): markup_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(markup_safe(v) for v in value)
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        out = value.copy()
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
                out[col] = [markup_safe(v) if isinstance(v, str) else v for v in out[col]]
        return out
    return value
