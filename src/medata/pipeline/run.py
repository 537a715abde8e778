"""``merge(inputs, out)``: the stages in order, written atomically into one layout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from medata.cluster import maybe_client
from medata.dedupe.apply import apply_resolution, mark
from medata.dedupe.groups import Groups, find_groups
from medata.dedupe.resolve import dedupe_meta, resolve
from medata.errors import UsageError
from medata.manifest import kept_rows
from medata.output import check_output, staged_output
from medata.pipeline.naming import name_kept
from medata.pipeline.options import DetectedInput, InputSpec, MergeOptions, MergeResult
from medata.pipeline.plan import plan
from medata.pipeline.probing import probe
from medata.pipeline.split import resplit
from medata.pipeline.write import copy_kept, write_dataset
from medata.progress import NullProgress, Progress
from medata.resume import ProbeCache, cache_path


def merge(
    specs: Sequence[InputSpec],
    out: Path,
    options: MergeOptions | None = None,
    progress: Progress | None = None,
) -> MergeResult:
    """Ingest ``specs`` into ``out``; returns the manifest (one row per input file)."""
    options = options or MergeOptions()
    progress = progress or NullProgress()
    if not specs:
        raise UsageError("no inputs given")
    options.check()
    _check_out_not_inside_inputs(specs, out)
    check_output(out, options.replace)  # refused before any work, leaving nothing behind
    cache = ProbeCache(cache_path(out)) if options.resume else None
    try:
        with maybe_client(options.scheduler, options.workers) as client:
            return _merge(specs, out, options, progress, cache, client)
    except Exception:
        if cache is not None:
            cache.close(delete=True)  # a failed merge leaves nothing beside DIR
        raise
    except BaseException:
        if cache is not None:
            cache.close(delete=False)  # interrupted: the next run resumes from it
        raise


def plan_and_probe(
    specs: Sequence[InputSpec],
    options: MergeOptions,
    progress: Progress,
    cache: ProbeCache | None = None,
    client: Any = None,
) -> tuple[list[DetectedInput], pd.DataFrame]:
    """The first two stages: every input file as a row with its probe columns and fate (the
    probe on the Dask cluster of ``client`` when given)."""
    detected, frame = plan(specs, options.labels, options.max_file_bytes)
    return detected, probe(frame, progress, options.workers, cache, client)


def _merge(specs: Sequence[InputSpec], out: Path, options: MergeOptions, progress: Progress,
           cache: ProbeCache | None, client: Any = None) -> MergeResult:  # fmt: skip
    detected, frame = plan_and_probe(specs, options, progress, cache, client)
    inputs_meta = json.dumps(sorted([d.ref.name, d.source] for d in detected))
    meta = {"medata.inputs": inputs_meta, "medata.dedupe": dedupe_meta(options.dedupe)}
    with staged_output(out, options.replace) as staging:
        # Copy (and verify) first, decide after: a file that changed since the probe is rejected
        # before any group picks it as the copy to keep.
        copied = kept_rows(frame)
        if options.dedupe is None:
            progress.stage("copy", len(copied))
            frame = copy_kept(frame, copied, staging, options.link, progress.advance)
            groups = None
        else:
            frame, groups = _copy_while_grouping(frame, copied, staging, options, progress,
                                                 client)  # fmt: skip
            frame = mark(frame, groups)
        if options.resplit is not None:
            frame = resplit(frame, options.resplit)
        decisions, moves = ([], {}) if groups is None or options.dedupe is None else resolve(
            frame, groups, options.dedupe)  # fmt: skip
        frame = apply_resolution(frame, decisions, moves, name=name_kept)
        manifest = write_dataset(frame, copied, staging, meta)
    if cache is not None:
        cache.close(delete=True)
    return MergeResult(out, manifest, detected, cache.hits if cache is not None else 0)


def _copy_while_grouping(
    frame: pd.DataFrame,
    copied: pd.Index,
    staging: Path,
    options: MergeOptions,
    progress: Progress,
    client: Any = None,
) -> tuple[pd.DataFrame, Groups]:
    """Find the duplicate groups (they need only the probe's results) while a thread copies the
    kept files. The verification workers are started before that thread (a process is never
    forked while another thread runs). A file that changed before its copy is rejected by the
    copy; then the groups are found again without it: the result is that of one step after
    the other. With a Dask ``client``, verification runs on its cluster."""
    from concurrent.futures import ThreadPoolExecutor

    from medata.dedupe.verify import pair_pool
    from medata.progress import Held

    assert options.dedupe is not None
    threshold = options.dedupe.threshold
    held = Held(progress)
    with pair_pool(client, options.workers) as workers:
        copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medata-copy")
        held.stage("copy", len(copied))
        copying = copier.submit(copy_kept, frame, copied, staging, options.link, held.advance)
        try:
            groups = find_groups(frame, threshold, workers=options.workers, progress=progress,
                                 pool=workers)  # fmt: skip
        except BaseException:
            held.cancel()
            copier.shutdown(wait=True, cancel_futures=True)
            raise
        held.release()
        try:
            after = copying.result()
        finally:
            copier.shutdown(wait=True)
        if len(kept_rows(after)) != len(copied):
            groups = find_groups(after, threshold, workers=options.workers, progress=progress,
                                 pool=workers)  # fmt: skip
    return after, groups


def _check_out_not_inside_inputs(specs: Sequence[InputSpec], out: Path) -> None:
    target = out.resolve()
    for spec in specs:
        if spec.local is None:  # a URL: not on this file system
            continue
        src = spec.local.resolve()
        if spec.local.is_dir() and (target == src or src in target.parents):
            raise UsageError(f"output folder {out} must not be inside the input {spec.path}")
        if target in src.parents or target == src:
            raise UsageError(f"input {spec.path} must not be inside the output folder {out}")
