"""Peak resident memory of this process and all its descendants, sampled from /proc."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def tree_rss(root: int, field: str = "VmRSS:") -> int:
    """Summed ``field`` of /proc/PID/status over ``root`` and its descendants, in bytes
    (``RssAnon:``: what the processes allocated, without the pages of files they map)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakMemory:
    """``with PeakMemory() as m: ...`` then ``m.peak_mb``: the largest summed RSS seen."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(os.getpid()))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(os.getpid()))

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def run_watched(cmd: list[str], interval: float = 0.02) -> tuple[str, float, float]:
    """Run ``cmd``; its stdout, wall seconds and peak summed RSS (MB) of its process tree,
    sampled from outside (a sampler thread inside would change how pools start workers)."""
    out, seconds, peak, _ = run_watched_anon(cmd, interval)
    return out, seconds, peak


def run_watched_anon(cmd: list[str], interval: float = 0.02) -> tuple[str, float, float, float]:
    """``run_watched``, and the peak summed RssAnon (MB): memory the processes allocated,
    without pages of files they map (a memory-mapped input counts in RSS only)."""
    import subprocess

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = anon = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        anon = max(anon, tree_rss(proc.pid, "RssAnon:"))
        time.sleep(interval)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed with status {proc.returncode}")
    return out, time.perf_counter() - t, peak / 2**20, anon / 2**20


def run_isolated(module: str, call: str) -> dict[str, float]:
    """``module.call`` (an expression returning a JSON-able dict) in a fresh interpreter, with
    the peak memory of its process tree added as ``peak_mb`` (RSS) and ``anon_mb`` (RssAnon)."""
    import json
    import sys

    here = str(Path(__file__).resolve().parent)
    code = (f"import json, sys; sys.path.insert(0, {here!r}); import {module} as b; "
            f"print(json.dumps(b.{call}))")  # fmt: skip
    out, _, peak_mb, anon_mb = run_watched_anon([sys.executable, "-c", code])
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak_mb
    result["anon_mb"] = anon_mb
    return result


def best_of(runs: int, module: str, calls: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each labelled ``module.call`` ``runs`` times, interleaved (every call once per round, so
    drift on the machine hits all alike), each in a fresh process; the fastest run per label."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(runs):
        for label, call in calls.items():
            r = run_isolated(module, call)
            if label not in best or r["seconds"] < best[label]["seconds"]:
                best[label] = r
    return best
