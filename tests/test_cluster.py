"""Merging on Dask (``--scheduler``): the same dataset as the process pool, on a LocalCluster
in this process (logic), in worker processes (the tasks pickle), and through the CLI."""

from __future__ import annotations

import hashlib

import distributed  # medata[dask], installed by `make test`
import pytest

from medata import InputSpec, MergeOptions, merge
from medata.manifest import read_manifest


@pytest.fixture(scope="module")
def threads_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:  # fmt: skip
        yield cluster


def _dataset(out):
    manifest, _ = read_manifest(out / "manifest.parquet")
    ann = hashlib.sha256((out / "annotations.csv").read_bytes()).hexdigest()
    return ann, manifest.drop(columns=["mtime_ns"])


def test_a_merge_on_a_dask_cluster_equals_the_process_pool_merge(
    demo_sources, threads_cluster, tmp_path
):
    specs = [InputSpec(p) for p in demo_sources.paths]
    merge(specs, tmp_path / "pool", MergeOptions(workers=2))
    merge(specs, tmp_path / "dask",
          MergeOptions(workers=2, scheduler=threads_cluster.scheduler_address))  # fmt: skip
    (a_ann, a), (b_ann, b) = _dataset(tmp_path / "pool"), _dataset(tmp_path / "dask")
    assert a_ann == b_ann
    assert a.equals(b)
    assert (a["status"] == "kept").sum() > 10


def test_the_real_archive_merges_on_dask_to_what_the_process_pool_gives(
    real_zip, threads_cluster, tmp_path
):
    opts = MergeOptions(workers=2, dedupe=None)
    merge([InputSpec(real_zip)], tmp_path / "pool", opts)
    opts.scheduler = threads_cluster.scheduler_address
    merge([InputSpec(real_zip)], tmp_path / "dask", opts)
    (a_ann, a), (b_ann, b) = _dataset(tmp_path / "pool"), _dataset(tmp_path / "dask")
    assert a_ann == b_ann and a.equals(b)
    assert len(a) == 9460


def test_merge_with_scheduler_local_runs_the_probe_in_worker_processes(demo_sources, tmp_path):
    """processes=True: every task and result crosses a process boundary (pickled)."""
    specs = [InputSpec(demo_sources.kori)]
    merge(specs, tmp_path / "pool", MergeOptions(workers=1, dedupe=None))
    merge(specs, tmp_path / "dask", MergeOptions(workers=2, dedupe=None, scheduler="local"))
    (a_ann, a), (b_ann, b) = _dataset(tmp_path / "pool"), _dataset(tmp_path / "dask")
    assert a_ann == b_ann and a.equals(b)


def test_an_unreachable_or_unknown_scheduler_is_a_one_line_usage_error(demo_sources, tmp_path):
    from medata.errors import UsageError

    for address in ("tcp://127.0.0.1:9", str(tmp_path / "no-such-file.json")):
        with pytest.raises(UsageError, match="--scheduler"):
            merge([InputSpec(demo_sources.kori)], tmp_path / "out",
                  MergeOptions(workers=1, scheduler=address))  # fmt: skip
        assert not (tmp_path / "out").exists()


def test_a_real_dask_scheduler_and_two_workers_started_from_the_cli_run_the_merge(
    demo_sources, tmp_path
):
    import subprocess
    import sys
    import time
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--port", "0",
                               "--scheduler-file", str(file), *common],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", "--scheduler-file", str(file), "--nthreads",
                 "1", "--nworkers", "1", *common],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        with distributed.Client(scheduler_file=str(file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        specs = [str(demo_sources.kmirfan), str(demo_sources.kori)]
        r = subprocess.run([sys.executable, "-m", "medata", "merge", *specs, "--out",
                            str(tmp_path / "dask"), "--scheduler", str(file), "-q"],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        with distributed.Client(scheduler_file=str(file), timeout="30s") as client:
            ran = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert "probe_partition" in ran  # the probe ran on the cluster, not locally
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    merge([InputSpec(demo_sources.kmirfan), InputSpec(demo_sources.kori)], tmp_path / "pool",
          MergeOptions(workers=2))  # fmt: skip
    (a_ann, a), (b_ann, b) = _dataset(tmp_path / "pool"), _dataset(tmp_path / "dask")
    assert a_ann == b_ann and a.equals(b)


def _prefixes(address):
    with distributed.Client(address, timeout="30s") as client:
        return client.run_on_scheduler(lambda dask_scheduler: set(dask_scheduler.task_prefixes))


def test_dedupe_on_a_dataset_searches_views_and_verifies_on_dask_with_the_pool_s_result(
    real_zip, threads_cluster, tmp_path
):
    from medata import DedupePolicy, find_duplicates

    out = tmp_path / "plain"
    merge([InputSpec(real_zip)], out, MergeOptions(workers=2, dedupe=None))
    pool = find_duplicates(out, DedupePolicy())
    dask = find_duplicates(out, DedupePolicy(), scheduler=threads_cluster.scheduler_address)
    assert dask.manifest.equals(pool.manifest)
    assert dask.groups.table.equals(pool.groups.table)
    assert pool.groups.verified > 1000  # enough pairs for several tasks of verify_many
    ran = _prefixes(threads_cluster.scheduler_address)
    assert any(p.startswith("verify") for p in ran)
    assert any(p.startswith("match_job") for p in ran), ran  # the view search's parts


def test_validate_deep_decodes_on_dask_and_reports_what_the_pool_reports(
    demo_sources, threads_cluster, tmp_path
):
    from medata import ValidateOptions, validate

    out = tmp_path / "merged"
    merge([InputSpec(demo_sources.kori)], out, MergeOptions(workers=1, dedupe=None))
    victim = sorted((out / "train").rglob("*.*"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # truncated: an error finding
    (out / "test" / "Happy" / "notes.jpg").write_text("not a picture")
    pool = validate(out, ValidateOptions(deep=True, workers=2))
    with distributed.Client(threads_cluster.scheduler_address) as client:
        client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.task_prefixes.clear())
    dask = validate(out, ValidateOptions(deep=True, workers=2,
                                         scheduler=threads_cluster.scheduler_address))  # fmt: skip
    assert dask.findings.equals(pool.findings)
    assert dask.decoded == pool.decoded == len(list(out.rglob("*.*"))) - 2  # not the two tables
    codes = set(pool.findings["code"])
    assert {"truncated", "not_image"} <= codes or {"undecodable", "not_image"} <= codes
    assert "probe_partition" in _prefixes(threads_cluster.scheduler_address)


class _KillAWorker:
    """A progress that kills one worker process (SIGKILL) when the first probe results are in."""

    def __init__(self, pid: int) -> None:
        self.pid, self.stage_name, self.killed = pid, "", False

    def stage(self, name: str, total: int) -> None:
        self.stage_name = name

    def advance(self, n: int = 1) -> None:
        import os
        import signal

        if self.stage_name == "probe" and not self.killed:
            os.kill(self.pid, signal.SIGKILL)
            self.killed = True


def test_a_worker_killed_mid_merge_still_gives_the_identical_dataset(real_zip, tmp_path):
    import os

    opts = MergeOptions(workers=2, dedupe=None)
    merge([InputSpec(real_zip)], tmp_path / "pool", opts)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            pids = sorted(client.run(os.getpid).values())
        killer = _KillAWorker(pids[0])
        opts.scheduler = cluster.scheduler_address
        merge([InputSpec(real_zip)], tmp_path / "dask", opts, progress=killer)
    assert killer.killed
    (a_ann, a), (b_ann, b) = _dataset(tmp_path / "pool"), _dataset(tmp_path / "dask")
    assert a_ann == b_ann and a.equals(b)
    assert len(a) == 9460


class _Interrupt:
    """A progress that presses Ctrl-C when the first probe results are in."""

    def stage(self, name: str, total: int) -> None:
        self.name = name

    def advance(self, n: int = 1) -> None:
        if getattr(self, "name", "") == "probe":
            raise KeyboardInterrupt


def test_a_merge_on_dask_cancelled_mid_probe_leaves_no_output(demo_sources, threads_cluster,
                                                              tmp_path):  # fmt: skip
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        merge([InputSpec(p) for p in demo_sources.paths], out,
              MergeOptions(workers=2, scheduler=threads_cluster.scheduler_address),
              progress=_Interrupt())  # fmt: skip
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.endswith(".medata-cache.sqlite") for name in leftovers), leftovers
    with distributed.Client(threads_cluster.scheduler_address) as client:
        assert not client.processing() or all(not v for v in client.processing().values())


def test_a_large_view_search_on_dask_sends_the_index_once_and_finds_what_threads_find(
    threads_cluster, monkeypatch
):
    import numpy as np

    from medata.cluster import ClusterMap
    from medata.dedupe import views

    from .test_near_faces import first_level_at_small_scale, smooth_twins

    stack = smooth_twins(seed=7, count=200, copies=60)
    # 260 images over 100: two levels, in blocks of 64 images (five parts).
    first_level_at_small_scale(monkeypatch)
    threads = views.search(stack, workers=2)
    with distributed.Client(threads_cluster) as client:
        scattered: list[dict] = []
        scatter = client.scatter

        def watched_scatter(data, **kw):  # noqa: ANN001, ANN202
            scattered.append(kw)
            return scatter(data, **kw)

        monkeypatch.setattr(client, "scatter", watched_scatter)
        named: list[str] = []  # what each part carries in place of the index

        class Watched(ClusterMap):
            def map(self, fn, jobs, **kw):  # noqa: ANN001, ANN202
                return super().map(fn, (named.append(type(j[0]).__name__) or j for j in jobs))

        done: list[int] = []
        with distributed.get_task_stream(client) as stream:
            dask = views.search(stack, pool=Watched(client), workers=2, advance=done.append)
    assert scattered == [{"broadcast": True}] and named == ["Future"] * 5
    assert done == [64] * 4 + [4]
    ran = [str(task["key"]) for task in stream.data]
    assert sum("match_job" in key for key in ran) == 5, ran  # every part, on the cluster
    found = {tuple(p) for p in dask.pairs.tolist()}
    assert sum((k, 200 + k) in found for k in range(60)) >= 54
    assert np.array_equal(threads.pairs, dask.pairs) and np.array_equal(threads.cosine, dask.cosine)
    assert np.array_equal(threads.start, dask.start)
