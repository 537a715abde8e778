"""The reference baseline on generated faces: it learns, its metrics are honest and reproducible,
its checkpoint predicts, and a dataset it cannot learn from is refused clearly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from medata import InputSpec, MergeOptions, merge
from medata.demo.synth import make_sources
from medata.errors import UsageError

from .test_cli import run

torch = pytest.importorskip("torch", reason="the train extra is part of make test")


@pytest.fixture(scope="session")
def faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    src = make_sources(root / "src", n=30, seed=3)
    out = root / "dataset"
    merge([InputSpec(p) for p in src.paths], out, MergeOptions())
    return out, src


@pytest.fixture(scope="session")
def quick_run(faces, tmp_path_factory):
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    out = tmp_path_factory.mktemp("run") / "run"
    return train(load_rows(faces[0]), out, TrainConfig(quick=True, seed=0))


def test_a_quick_run_learns_the_generated_faces_well_above_chance(quick_run):
    assert quick_run.metrics["test"]["accuracy"] > 0.5  # chance is 1/6
    assert quick_run.metrics["test"]["n"] > 100


def test_the_run_folder_holds_model_metrics_and_plots(quick_run):
    for name in ("model.pt", "metrics.json", "predictions.csv", "confusion.png", "curve.png"):
        assert (quick_run.out / name).stat().st_size > 0
    ckpt = torch.load(quick_run.out / "model.pt", weights_only=False)
    assert ckpt["classes"] == ["Anger", "Disgust", "Fear", "Happy", "Neutral", "Surprised"]
    assert ckpt["preprocess"]["size"] == 48 and len(ckpt["manifest_sha256"]) == 64


def test_metrics_json_equals_metrics_recomputed_from_saved_predictions(quick_run):
    metrics = json.loads((quick_run.out / "metrics.json").read_text())
    pred = pd.read_csv(quick_run.out / "predictions.csv")
    test = pred[pred["slice"] == "test"]
    classes = metrics["test"]["classes"]
    assert metrics["test"]["accuracy"] == pytest.approx((test["true"] == test["pred"]).mean())
    f1s = []
    for c in classes:
        tp = ((test["true"] == c) & (test["pred"] == c)).sum()
        fp = ((test["true"] != c) & (test["pred"] == c)).sum()
        fn = ((test["true"] == c) & (test["pred"] != c)).sum()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
        assert metrics["test"]["per_class"][c]["support"] == int((test["true"] == c).sum())
    assert metrics["test"]["macro_f1"] == pytest.approx(float(np.mean(f1s)))
    cm = pd.crosstab(test["true"], test["pred"]).reindex(index=classes, columns=classes,
                                                         fill_value=0)  # fmt: skip
    assert metrics["test"]["confusion"] == cm.to_numpy().tolist()


def test_the_same_seed_gives_the_same_metrics_twice(faces, quick_run, tmp_path):
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    again = train(load_rows(faces[0]), tmp_path / "again", TrainConfig(quick=True, seed=0))
    assert again.metrics == quick_run.metrics


def test_a_checkpoint_reloads_and_predicts_the_saved_test_labels(quick_run, faces):
    from medata.train.predict import predict

    pred = pd.read_csv(quick_run.out / "predictions.csv")
    test = pred[pred["slice"] == "test"].head(20)
    folder = faces[0]
    got = [predict(quick_run.out / "model.pt", folder / p)["label"].iloc[0] for p in test["path"]]
    assert got == list(test["pred"])


def test_predict_on_the_command_line_labels_a_folder(quick_run, faces):
    r = run("predict", str(quick_run.out / "model.pt"), str(faces[0] / "test" / "Happy"), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == len(list((faces[0] / "test" / "Happy").iterdir()))
    assert {row["label"] for row in rows} <= {"Anger", "Disgust", "Fear", "Happy", "Neutral",
                                             "Surprised"}  # fmt: skip


def test_a_dataset_missing_a_class_in_train_fails_with_a_clear_message(faces, tmp_path):
    from medata.train.data import load_rows
    from medata.train.loop import TrainConfig, train

    ds = tmp_path / "ds"
    shutil.copytree(faces[0], ds)
    rows = load_rows(ds)
    rows.frame = rows.frame[~((rows.frame["label"] == "Fear") & (rows.frame["split"] == "train"))]
    with pytest.raises(UsageError, match="Fear"):
        train(rows, tmp_path / "run", TrainConfig(quick=True))


def test_an_empty_test_split_fails_with_a_clear_message_and_exit_2(faces, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(faces[0], ds)
    ann = pd.read_csv(ds / "annotations.csv")
    ann[ann["split"] == "train"].to_csv(ds / "annotations.csv", index=False)
    (ds / "manifest.parquet").unlink()
    r = run("train-baseline", str(ds), "--quick", "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "test split is empty" in r.stderr and "Traceback" not in r.stderr
