"""Inputs at fsspec URLs, read in place from a real S3-compatible server started on localhost
(moto's server mode): no mock of fsspec, s3fs or boto. The result must be the local merge's."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import distributed
import pytest
from moto.server import ThreadedMotoServer

from medata import InputSpec, MergeOptions, MergeResult, merge
from medata.errors import InputError, UsageError
from medata.manifest import read_manifest

SECRET = "s3cr3t-that-must-never-be-printed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The environment a user would have set before running medata. Set when pytest imports this
# module (collection, before any test runs): a process pool's fork server, started by an earlier
# test, gives its workers the environment it was started with, as a user's shell would.
PORT = _free_port()
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
}
os.environ.update(ENV)


@pytest.fixture(scope="module")
def s3(real_zip: Path) -> Iterator[str]:
    """An S3 endpoint on localhost with the real archive as s3://data/micro-expressions.zip;
    the environment (``ENV``) points every client (this process, pool workers, Dask workers)
    at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    server.start()
    try:
        client = boto3.client("s3")
        client.create_bucket(Bucket="data")
        client.upload_file(str(real_zip), "data", "micro-expressions.zip")
        client.put_object(Bucket="data", Key="notes.txt", Body=b"not an archive")
        yield ENV["AWS_ENDPOINT_URL"]
    finally:
        server.stop()


def _dataset(out: Path) -> tuple[str, object]:
    manifest, _ = read_manifest(out / "manifest.parquet")
    ann = hashlib.sha256((out / "annotations.csv").read_bytes()).hexdigest()
    return ann, manifest.drop(columns=["mtime_ns"])


def test_the_real_archive_read_from_s3_merges_to_the_local_file_merge(
    s3: str, real_merged: MergeResult, tmp_path: Path
) -> None:
    merge([InputSpec("s3://data/micro-expressions.zip")], tmp_path / "s3",
          MergeOptions(dedupe=None, workers=2))  # fmt: skip
    (a_ann, a), (b_ann, b) = _dataset(real_merged.out), _dataset(tmp_path / "s3")
    assert a_ann == b_ann and a.equals(b)
    assert len(b) == 9460  # the README's member count


def test_dask_workers_read_the_s3_archive_in_place_to_the_same_dataset(
    s3: str, real_merged: MergeResult, tmp_path: Path
) -> None:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:  # fmt: skip
        merge([InputSpec.parse("kmirfan=s3://data/micro-expressions.zip")], tmp_path / "dask",
              MergeOptions(dedupe=None, scheduler=cluster.scheduler_address))  # fmt: skip
    (a_ann, a), (b_ann, b) = _dataset(real_merged.out), _dataset(tmp_path / "dask")
    assert a_ann == b_ann and a.equals(b)


def _upload_folder(root: Path, prefix: str) -> int:
    client = boto3.client("s3")
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    for p in files:
        client.upload_file(str(p), "data", f"{prefix}/{p.relative_to(root).as_posix()}")
    return len(files)


def test_a_folder_url_merges_like_the_local_folder_and_a_climbing_key_is_never_opened(
    s3: str, demo_sources, tmp_path: Path
) -> None:
    name = demo_sources.kori.name  # output names carry the input's name
    n = _upload_folder(demo_sources.kori, name)
    boto3.client("s3").put_object(Bucket="data", Key=f"{name}/../escape.jpg", Body=b"\xff\xd8")
    local = merge([InputSpec(demo_sources.kori)], tmp_path / "local", MergeOptions(workers=1))
    remote = merge([InputSpec(f"s3://data/{name}/")], tmp_path / "s3", MergeOptions(workers=1))
    m = remote.manifest
    climbing = m[m["source_path"].str.contains("..", regex=False)]
    assert climbing["reason"].tolist() == ["unsafe_path"]
    cols = ["source_path", "status", "reason", "split", "label", "sha256", "phash", "dup_group"]
    rest = m.drop(climbing.index).reset_index(drop=True)
    assert rest[cols].equals(local.manifest[cols].reset_index(drop=True))
    assert len(rest) == n
    assert (tmp_path / "s3" / "annotations.csv").read_bytes() == (
        tmp_path / "local" / "annotations.csv"
    ).read_bytes()


def test_a_missing_object_or_a_non_archive_is_a_one_line_input_error(s3: str, tmp_path: Path):
    with pytest.raises(InputError, match="input not found: s3://data/nothing.zip"):
        merge([InputSpec("s3://data/nothing.zip")], tmp_path / "a")
    with pytest.raises(InputError, match="not a folder or a zip archive: s3://data/notes.txt"):
        merge([InputSpec("s3://data/notes.txt")], tmp_path / "b")
    with pytest.raises(UsageError, match="nosuchproto://"):
        merge([InputSpec("nosuchproto://x/y.zip")], tmp_path / "c")
    assert not any(tmp_path.iterdir())


def test_the_cli_reports_a_storage_error_in_one_line_without_the_credentials(
    s3: str, tmp_path: Path
) -> None:
    cmd = [sys.executable, "-m", "medata", "merge", "s3://no-such-bucket/x.zip",
           "--out", str(tmp_path / "out")]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "s3://no-such-bucket/x.zip" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and SECRET not in r.stderr + r.stdout
    assert not (tmp_path / "out").exists()


def test_a_file_url_is_the_local_path(demo_sources, tmp_path: Path) -> None:
    spec = InputSpec(demo_sources.kori.resolve().as_uri())
    assert spec.path == demo_sources.kori.resolve()
