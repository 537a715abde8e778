"""The public Python API: ``import medata`` and call what the commands do."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import medata


def test_importing_medata_loads_no_dataframe_library_until_a_function_is_used():
    code = "import sys, medata; print('pandas' in sys.modules, medata.__version__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split()[0] == "False"


def test_the_public_functions_merge_validate_count_and_deduplicate_a_dataset(
    demo_sources, tmp_path
):
    out = tmp_path / "out"
    plain = medata.merge([str(p) for p in demo_sources.paths], out,
                         medata.MergeOptions(dedupe=None, workers=1))  # fmt: skip
    ann = pd.read_csv(out / "annotations.csv")
    assert len(plain.kept) == len(ann)

    report = medata.validate(out)
    assert report.errors == 0 and report.rows == len(ann)

    numbers = medata.stats(out)
    for split in ("train", "test"):
        counts = numbers["balance"][split]["counts"]
        expected = ann[ann["split"] == split]["label"].value_counts().to_dict()
        assert {c: v for c, v in counts.items() if v} == expected

    plan = medata.find_duplicates(out, medata.DedupePolicy())
    removed = plan.manifest["status"].isin(["duplicate", "leak", "conflict"])
    assert removed.sum() > 0
    medata.find_duplicates(out, apply=True)
    after = pd.read_csv(out / "annotations.csv")
    assert len(after) == len(ann) - int(removed.sum())


def test_an_unknown_public_name_is_an_attribute_error():
    try:
        medata.not_a_function  # noqa: B018
    except AttributeError as exc:
        assert "not_a_function" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_the_readme_python_example_runs_as_written_on_the_demo_sources(demo_sources, tmp_path,
                                                                       monkeypatch):  # fmt: skip
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- api-snippet -->\n```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace('"micro-expressions.zip"', repr(str(demo_sources.kori)))
    code = "\n".join(line for line in code.splitlines() if "train_baseline" not in line)
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(code, "README api-snippet", "exec"), scope)  # noqa: S102 - our own README
    assert scope["report"].errors == 0
    # The merge already resolved duplicates by the default policy: applying it again is a no-op.
    after = pd.read_csv(tmp_path / "dataset" / "annotations.csv")
    assert len(after) == len(scope["result"].kept)
    assert sum(scope["numbers"]["balance"][s]["total"] for s in ("train", "test")) == len(after)


def test_a_dedupe_policy_takes_the_cli_spellings_and_refuses_others():
    from medata.dedupe.resolve import LeakPolicy

    assert medata.DedupePolicy(leaks="to-train").leaks is LeakPolicy.TO_TRAIN
    try:
        medata.DedupePolicy(conflicts="vote")
    except Exception as exc:  # noqa: BLE001
        assert "majority" in str(exc) and "vote" in str(exc)
    else:
        raise AssertionError("accepted an unknown policy")
