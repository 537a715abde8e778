"""Write the JSON schemas declared in ``records`` to ``schemas/`` (``make schemas``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from medata.checks.schema import exported_pandera_schema
from medata.records import exported_schemas


def all_schemas() -> dict[str, object]:
    """File name under ``schemas/`` -> document: JSON Schemas and pandera's own form."""
    docs: dict[str, object] = dict(exported_schemas())
    docs["annotations.pandera.json"] = exported_pandera_schema()
    return docs


def render(doc: object) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def main(target: Path = Path("schemas")) -> None:
    target.mkdir(exist_ok=True)
    for name, doc in all_schemas().items():
        (target / name).write_text(render(doc), encoding="utf-8")
        print(f"wrote {target / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
