"""The whole merge of the real archive: with duplicates resolved (the default) against the plain
merge that keeps every copy (`--no-dedupe`), interleaved, best of N, with the time of each stage.

    python bench/bench_merge.py [--runs 3] [--zip ../shared/data/micro-expressions.zip]
                                [--before d23100f] [--generated PER_CLASS]

With ``--before REV`` (default: the last commit before issue 11's near-duplicate work), that
revision is checked out in a temporary git worktree and its ``medata merge`` (default options)
runs through the command line, interleaved with today's ``medata merge`` run the same way: the
"merge at most 1.5x today's time" figure of issue 11, measured in the same run. ``--before ''``
skips it (e.g. outside a git checkout). ``--generated 1664`` merges the three generated demo
sources instead, about 48,000 files: the size of a merge of the three real sources.

Each run is a fresh process with a fresh output folder and no probe cache. A stage lasts from its
first progress report to the next stage's (so "probe" also holds what follows it until the next
report: in the default merge, the pHash search); in the default merge the copy runs in a thread
while the groups are found, so "copy" there is only the wait left after them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from memsample import best_of

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"
BEFORE_ISSUE_11 = "d23100f"  # the last commit before verification, views and the copy thread


def merge_case(paths: list[str], dedupe: bool) -> dict[str, object]:
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
        specs = [InputSpec(Path(p)) for p in paths]
        result = merge(specs, Path(tmp) / "out", options, progress=stages)
        total = time.perf_counter() - start
    stages.stage("end", 0)
    statuses = result.manifest["status"].value_counts().to_dict()
    leaks = statuses.get("leak", 0)
    return {"seconds": total, "stages": json.dumps(stages.seconds), "leaks": leaks}


def cli_case(src: str, paths: list[str]) -> dict[str, object]:
    """``medata merge PATHS`` (default options, no probe cache) with the package at ``src``."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    env = {**os.environ, "PYTHONPATH": src}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "medata", "merge", *paths, "--out", f"{tmp}/out",
               "--no-resume", "--quiet"]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        return {"seconds": time.perf_counter() - start}


def _worktree(rev: str, into: Path) -> Path | None:
    """``rev`` checked out at ``into`` (a detached git worktree), or None when it cannot be."""
    import subprocess

    repo = HERE.parent
    done = subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(into), rev],
                          capture_output=True, text=True)  # fmt: skip
    return into / "src" if done.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--before", default=BEFORE_ISSUE_11)
    ap.add_argument("--generated", type=int, default=0, metavar="PER_CLASS",
                    help="merge the three generated demo sources (PER_CLASS images per class "
                         "and source) instead of the real archive")  # fmt: skip
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.generated:
            from medata.demo.synth import make_sources

            made = make_sources(Path(tmp) / "sources", n=args.generated, seed=0)
            paths = [str(made.kmirfan), str(made.ziya07), str(made.kori)]
            files = sum(c["files"] for c in made.counts.values())
            title = f"the three generated sources ({files:,} files)"
        else:
            paths, title = [str(args.zip)], args.zip.name
        calls = {str(d): f"merge_case({paths!r}, {d})" for d in (False, True)}
        before = _worktree(args.before, Path(tmp) / "before") if args.before else None
        if before is not None:
            calls["before"] = f"cli_case({str(before)!r}, {paths!r})"
            calls["now"] = f"cli_case({str(HERE.parent / 'src')!r}, {paths!r})"
        elif args.before:
            print(f"(no worktree of {args.before}: the before-issue-11 row is left out)")
        try:
            found = best_of(args.runs, "bench_merge", calls)
        finally:
            if before is not None:
                subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                                str(before.parent)], capture_output=True)  # fmt: skip
    best = {d: found[str(d)] for d in (False, True)}
    print(f"merge of {title}, best of {args.runs} (interleaved)")
    print("| merge | seconds | peak MB | leaks removed | stages (s) |")
    print("|---|---|---|---|---|")
    for dedupe, label in ((False, "plain (--no-dedupe)"), (True, "default (dedupe)")):
        r = best[dedupe]
        stages = ", ".join(f"{k} {v:.2f}" for k, v in json.loads(str(r["stages"])).items())
        print(f"| {label} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['leaks']} | {stages} |")
    ratio = float(best[True]["seconds"]) / float(best[False]["seconds"])  # type: ignore[arg-type]
    print(f"\ndefault / plain: {ratio:.2f}x")
    if "before" in found:
        b, n = found["before"], found["now"]
        print("\n| medata merge (CLI, default options) | seconds | peak MB |\n|---|---|---|")
        print(f"| before issue 11 ({args.before}) | {b['seconds']:.1f} | {b['peak_mb']:.0f} |")
        print(f"| now | {n['seconds']:.1f} | {n['peak_mb']:.0f} |")
        print(f"\nnow / before issue 11: {n['seconds'] / b['seconds']:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
