"""Shared fixtures: synthetic sources made by the generator, and the real kmirfan archive."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from medata import InputSpec, MergeOptions, MergeResult, merge
from medata.demo.synth import DemoSources, make_sources

REPO = Path(__file__).resolve().parents[1]
REAL_ZIP = REPO.parent / "shared" / "data" / "micro-expressions.zip"


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    return make_sources(tmp_path_factory.mktemp("sources"), n=8, seed=1)


@pytest.fixture(scope="session")
def demo_merged(demo_sources: DemoSources, tmp_path_factory: pytest.TempPathFactory) -> MergeResult:
    out = tmp_path_factory.mktemp("merged") / "out"
    return merge([InputSpec(p) for p in demo_sources.paths], out, MergeOptions(workers=2))


@pytest.fixture(scope="session")
def real_zip() -> Path:
    assert REAL_ZIP.exists(), f"the real archive is expected at {REAL_ZIP}"
    return REAL_ZIP


@pytest.fixture(scope="session")
def real_merged(real_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> MergeResult:
    """The real archive merged without deduplication (the README's "before any" counts)."""
    out = tmp_path_factory.mktemp("real") / "out"
    return merge([InputSpec(real_zip)], out, MergeOptions(dedupe=None))


@pytest.fixture(scope="session")
def real_deduped(real_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> MergeResult:
    """The real archive merged with the default deduplication."""
    out = tmp_path_factory.mktemp("real-dedupe") / "out"
    return merge([InputSpec(real_zip)], out, MergeOptions())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 for every file under root (to prove nothing changed)."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
