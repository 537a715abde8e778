"""Write the JSON schemas declared in ``records`` to ``schemas/`` (``make schemas``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from medata.records import exported_schemas


def render(doc: object) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def main(target: Path = Path("schemas")) -> None:
    target.mkdir(exist_ok=True)
    for name, doc in exported_schemas().items():
        (target / name).write_text(render(doc), encoding="utf-8")
        print(f"wrote {target / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
