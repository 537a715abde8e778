"""The whole merge of the real archive: with duplicates resolved (the default) against the plain
merge that keeps every copy (`--no-dedupe`), interleaved, best of N, with the time of each stage.

    python bench/bench_merge.py [--runs 3] [--zip ../shared/data/micro-expressions.zip]

Each run is a fresh process with a fresh output folder and no probe cache. A stage lasts from its
first progress report to the next stage's (so "probe" also holds what follows it until the next
report: in the default merge, the pHash search); in the default merge the copy runs in a thread
while the groups are found, so "copy" there is only the wait left after them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from memsample import best_of

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def merge_case(zip_path: str, dedupe: bool) -> dict[str, object]:
    import tempfile
    import time

    from medata.pipeline import InputSpec, MergeOptions, merge

    class Stages:
        def __init__(self) -> None:
            self.name, self.t, self.seconds = "start", time.perf_counter(), {}

        def stage(self, name: str, total: int) -> None:
            now = time.perf_counter()
            self.seconds[self.name] = self.seconds.get(self.name, 0.0) + now - self.t
            self.name, self.t = name, now

        def advance(self, n: int = 1) -> None:
            pass

    stages = Stages()
    options = MergeOptions(resume=False) if dedupe else MergeOptions(resume=False, dedupe=None)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = merge([InputSpec(Path(zip_path))], Path(tmp) / "out", options, progress=stages)
        total = time.perf_counter() - start
    stages.stage("end", 0)
    statuses = result.manifest["status"].value_counts().to_dict()
    leaks = statuses.get("leak", 0)
    return {"seconds": total, "stages": json.dumps(stages.seconds), "leaks": leaks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = ap.parse_args()
    z = str(args.zip)
    found = best_of(args.runs, "bench_merge",
                    {str(d): f"merge_case({z!r}, {d})" for d in (False, True)})  # fmt: skip
    best = {d: found[str(d)] for d in (False, True)}
    print(f"merge of {args.zip.name}, best of {args.runs} (interleaved)")
    print("| merge | seconds | peak MB | leaks removed | stages (s) |")
    print("|---|---|---|---|---|")
    for dedupe, label in ((False, "plain (--no-dedupe)"), (True, "default (dedupe)")):
        r = best[dedupe]
        stages = ", ".join(f"{k} {v:.2f}" for k, v in json.loads(str(r["stages"])).items())
        print(f"| {label} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['leaks']} | {stages} |")
    ratio = float(best[True]["seconds"]) / float(best[False]["seconds"])  # type: ignore[arg-type]
    print(f"\ndefault / plain: {ratio:.2f}x")


if __name__ == "__main__":
    main()
