"""Per-image work on a Dask cluster (``medata[dask]``) instead of the local process pool.

``--scheduler local`` starts a LocalCluster on this machine (``--workers`` processes, one thread
each); ``tcp://host:8786`` (or ``tls://``) connects to a running scheduler; anything else is
read as a scheduler file (``dask scheduler --scheduler-file FILE``). The work itself is the
same pure function the process pool runs, mapped over the same partitions; results stream back
in completion order, so progress and the resume cache keep working, and they are keyed, so the
output does not depend on that order. A worker lost mid-run only costs its partitions: the
scheduler runs them again elsewhere."""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from medata.errors import UsageError

T = TypeVar("T")
PARTITION = 1000  # members per task on a cluster: opening a zip's directory is paid per task
SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'medata[dask]'") from None
    return distributed


@contextlib.contextmanager
def client_for(address: str, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address`` (see the module doc), closed on exit."""
    distributed = _distributed()
    if address == "local":
        n = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")  # fmt: skip
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        if address.startswith(SCHEMES):
            client = distributed.Client(address, timeout="10s")
        else:
            path = Path(address)
            if not path.is_file():
                raise UsageError(f"--scheduler: {address!r} is not local, an address such as "
                                 "tcp://host:8786, or a scheduler file")  # fmt: skip
            client = distributed.Client(scheduler_file=str(path), timeout="10s")
    except OSError as exc:  # the scheduler did not answer; never print credentials or config
        raise UsageError(f"--scheduler: cannot reach the Dask scheduler at {address}: "
                         f"{type(exc).__name__}") from None  # fmt: skip
    with client:
        yield client


@contextlib.contextmanager
def maybe_client(address: str | None, workers: int | None = None) -> Iterator[Any]:
    """``client_for(address)``, or None (the local process pool) when no address is given."""
    if address is None:
        yield None
        return
    with client_for(address, workers) as client:
        yield client


class ClusterMap(Executor):
    """``map`` on a Dask cluster, in order, with a bounded number of tasks in flight: each task
    carries its own arrays, so submitting them all at once would put every one in the graph."""

    def __init__(self, client: Any, per_thread: int = 2) -> None:
        self.client = client
        self.window = max(2, per_thread * sum(client.nthreads().values()))

    def map(self, fn: Callable[..., T], *iterables: Any, timeout: float | None = None,
            chunksize: int = 1) -> Iterator[T]:  # fmt: skip
        jobs = zip(*iterables, strict=True)
        pending: collections.deque[Any] = collections.deque()

        def results() -> Iterator[T]:
            try:
                for job in jobs:
                    pending.append(self.client.submit(fn, *job, pure=False))
                    if len(pending) >= self.window:
                        yield pending.popleft().result(timeout)
                while pending:
                    yield pending.popleft().result(timeout)
            finally:
                self.client.cancel(list(pending))

        return results()


def in_order(
    pool: Executor, fn: Callable[[Any], T], jobs: Iterable[Any], window: int
) -> Iterator[T]:
    """``fn(job)`` of each job on ``pool`` (a process pool or a ``ClusterMap``), results in
    order, at most ``window`` handed out and waiting at once (an executor's own ``map`` takes
    every job first). A ``ClusterMap`` bounds what it hands out itself."""
    if isinstance(pool, ClusterMap):
        yield from pool.map(fn, jobs)
        return
    pending: collections.deque[Any] = collections.deque()
    try:
        for job in jobs:
            pending.append(pool.submit(fn, job))
            if len(pending) >= max(2, window):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()


def map_streaming(
    client: Any,
    fn: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    on_result: Callable[[int, T], None],
) -> None:
    """Run ``fn(*job)`` for every job on the cluster; ``on_result(index, result)`` as each one
    completes (in completion order). Any failure or interrupt cancels what is left."""
    distributed = _distributed()
    if not jobs:
        return
    futures = client.map(fn, *zip(*jobs, strict=True), pure=False)
    index = {f.key: k for k, f in enumerate(futures)}
    try:
        for future in distributed.as_completed(futures):
            on_result(index[future.key], future.result())
    except BaseException:
        client.cancel(futures)
        raise
