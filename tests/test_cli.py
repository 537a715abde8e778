"""The command line: thin, one-line errors, exit codes, quiet and JSON modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "medata", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_help_lists_the_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("merge", "demo"):
        assert cmd in r.stdout


def test_a_missing_input_is_one_line_on_stderr_with_exit_status_2(tmp_path):
    r = run("merge", str(tmp_path / "nope.zip"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.strip().startswith("Error:") and "nope.zip" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr + r.stdout


def test_an_unknown_option_is_a_usage_error_without_traceback(tmp_path):
    r = run("merge", "x", "--out", str(tmp_path), "--frobnicate")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_merge_json_prints_counts_that_match_the_manifest(tmp_path, demo_sources):
    out = tmp_path / "out"
    r = run("merge", *map(str, demo_sources.paths), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    import pandas as pd

    m = pd.read_parquet(out / "manifest.parquet")
    assert summary["files"] == len(m)
    assert summary["status"]["kept"] == int((m["status"] == "kept").sum())
    assert summary["kept"]["test"]["Anger"] == int(
        ((m["status"] == "kept") & (m["split"] == "test") & (m["label"] == "Anger")).sum()
    )


def test_quiet_merge_prints_nothing(tmp_path, demo_sources):
    r = run("merge", str(demo_sources.kori), "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


def test_merge_into_a_non_empty_folder_fails_with_exit_status_1(tmp_path, demo_sources):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("x")
    r = run("merge", str(demo_sources.kori), "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 1 and "--replace" in r.stderr and "Traceback" not in r.stderr


def test_demo_generates_three_sources_and_merges_them(tmp_path):
    r = run("demo", str(tmp_path / "d"), "--json", "--per-class", "4")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert sorted(i["source"] for i in summary["inputs"]) == ["kmirfan", "kori", "ziya07"]
    assert (tmp_path / "d" / "merged" / "annotations.csv").exists()
    again = run("demo", str(tmp_path / "d"), "-q", "--per-class", "4", "--replace")
    assert again.returncode == 0, again.stderr


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    r = run("demo", str(tmp_path), "-q")
    assert r.returncode == 1 and (tmp_path / "mine.txt").read_text() == "precious"


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- cli-examples -->")[1].split("<!-- /cli-examples -->")[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("medata ")]


def test_readme_has_cli_examples():
    assert len(_readme_commands()) >= 3


@pytest.mark.parametrize("command", _readme_commands())
def test_every_command_in_the_readme_runs(command, tmp_path_factory):
    cwd = tmp_path_factory.getbasetemp() / "readme"
    cwd.mkdir(exist_ok=True)
    if not (cwd / "medata-demo").exists():
        assert run("demo", "medata-demo", "-q", cwd=cwd).returncode == 0
    args = command.split()[1:]
    r = run(*args, cwd=cwd)
    assert r.returncode == 0, f"{command}: {r.stderr}"


def test_the_pytorch_loading_snippet_in_the_readme_loads_the_demo_dataset(tmp_path_factory):
    pytest.importorskip("torch", reason="the train extra is part of make test")
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- torch-snippet -->")[1].split("<!-- /torch-snippet -->")[0]
    code = block.split("```python")[1].split("```")[0]
    cwd = tmp_path_factory.getbasetemp() / "readme"
    cwd.mkdir(exist_ok=True)
    if not (cwd / "medata-demo").exists():
        assert run("demo", "medata-demo", "-q", cwd=cwd).returncode == 0
    check = code + "\nx, y = train[0]\nprint(len(train), tuple(x.shape), y)\n"
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=cwd,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    n, shape, label = r.stdout.split(" ", 1)[0], r.stdout.split("(")[1].split(")")[0], r.stdout
    assert int(n) > 50 and shape == "1, 48, 48" and int(label.split()[-1]) in range(6)
