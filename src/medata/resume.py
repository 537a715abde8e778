"""A resume cache for the probe: results of a merge that was interrupted are kept beside DIR
(SQLite, committed per partition) and reused by the next run, keyed by input, member path, size
and CRC (zip) or mtime (folder). A merge that completes deletes it."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from medata.probe import ProbeResult
from medata.problems import Code


def cache_path(out: Path) -> Path:
    out = out.absolute()
    return out.parent / f".{out.name}.medata-cache.sqlite"


class ProbeCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.hits = 0
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(path)
            self._db.execute("CREATE TABLE IF NOT EXISTS probe (key TEXT PRIMARY KEY, result TEXT)")
        except sqlite3.Error:  # an unusable cache only costs time: run without it
            self._db = None

    @staticmethod
    def key(location: str, source_path: str, fingerprint: str) -> str:
        return f"{location}\0{source_path}\0{fingerprint}"

    def get(self, key: str, entry_key: str) -> ProbeResult | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT result FROM probe WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        fields = json.loads(row[0])
        fields["key"] = entry_key
        fields["problem"] = Code(fields["problem"]) if fields["problem"] else None
        fields["thumb"] = base64.b64decode(fields["thumb"]) if fields.get("thumb") else None
        self.hits += 1
        return ProbeResult(**fields)

    def put(self, items: list[tuple[str, ProbeResult]]) -> None:
        if self._db is None:
            return
        rows = []
        for key, r in items:
            fields = asdict(r)
            fields["problem"] = r.problem.value if r.problem else None
            fields["thumb"] = base64.b64encode(r.thumb).decode("ascii") if r.thumb else None
            rows.append((key, json.dumps(fields)))
        with contextlib.suppress(sqlite3.Error):
            self._db.executemany("INSERT OR REPLACE INTO probe VALUES (?, ?)", rows)
            self._db.commit()

    def close(self, delete: bool) -> None:
        if self._db is not None:
            self._db.close()
        if delete:
            for suffix in ("", "-journal", "-wal"):
                with contextlib.suppress(OSError):
                    Path(str(self.path) + suffix).unlink()
