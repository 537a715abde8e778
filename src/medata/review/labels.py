"""Likely label errors: out-of-sample class probabilities from k-fold training of the reference
CNN, filtered by confident learning (``cleanlab.filter.find_label_issues``, in ``medata[train]``)
and by the given label's probability against the best other class's (``MAX_RATIO``), ranked by
self-confidence.

Every kept image (train and test) gets its probabilities from the one model that did not see it:
the images are cut into ``folds`` stratified, seeded folds; each model trains on the other folds
(with a stratified tenth held out for choosing its epoch) and predicts its own fold. A label issue
names the given label, the suggested label (the most probable other class) and a score: 1 minus
the self-confidence (the probability the model gives the given label), so the most suspicious
image is ranked first.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from medata.errors import UsageError
from medata.manifest import Target
from medata.progress import Progress
from medata.records import CLASSES
from medata.review.options import REVIEW_COLUMNS, LabelOptions

# Calibrated on the real archive with 5% planted flips (bench/bench_review.py --labels): with
# 5-fold probabilities (fold accuracy 0.67), cleanlab's prune_by_class alone found 88% of the
# flips with 5.2 findings per flip; keeping those whose given label gets under a quarter of the
# probability of the best other class, 75% with 2.6 (--quick: 45% with 2.0). Relative, so an
# under-confident quick model keeps its clear suspects (an absolute p(given) < 0.1 lost half of
# the flips of an easy set); half of cleanlab's estimated noise (frac_noise 0.5) capped recall
# near one half when the model is good. What is dropped is mostly the archive's own noise and
# the model's confusions (fear vs surprised), not worth a person's time first.
FILTER_BY = "prune_by_class"
MAX_RATIO = 0.25  # p(given label) / p(best other class) of a suspect


def _require() -> None:
    from medata.train import require_torch

    require_torch()
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        raise UsageError("--labels needs cleanlab: pip install 'medata[train]'") from None


def folds_of(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number per item: each class shuffled (seeded) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % k
    return fold


def out_of_sample(x: np.ndarray, y: np.ndarray, folds: int, quick: bool, seed: int,
                  progress: Progress) -> np.ndarray:  # fmt: skip
    """(n, classes) probabilities, each row from the model trained without it."""
    from medata.train.data import stratified_split
    from medata.train.loop import TrainConfig, _cap, fit, predict_proba, resolve_device

    # The baseline's own settings: a shorter patience stops OneCycle runs in their noisy first
    # epochs (one fold of the real archive: accuracy 0.53 with patience 4, 0.67 with 8).
    config = TrainConfig(seed=seed, quick=quick, device="cpu")
    device = resolve_device(config.device)
    fold = folds_of(y, folds, seed)
    probs = np.zeros((len(y), len(CLASSES)))
    progress.stage("folds", folds)
    for f in range(folds):
        x_in, y_in = x[fold != f], y[fold != f]
        if quick:
            x_in, y_in = _cap(x_in, y_in, 150, seed + f)
        tr, va = stratified_split(y_in, config.val_fraction, seed + f)
        fitted = fit(x_in[tr], y_in[tr], x_in[va], y_in[va], config, device)
        mine = fold == f
        probs[mine] = predict_proba(fitted.model, x[mine], fitted.mean, fitted.std, device)
        progress.advance(1)
    return probs


def label_table(t: Target, options: LabelOptions, progress: Progress) -> pd.DataFrame:
    """Label-issue findings (review's table columns) for the kept images of ``t``."""
    _require()
    from cleanlab.filter import find_label_issues

    from medata.train.data import decode_all
    from medata.train.loop import _read

    assert t.root is not None
    kept = t.manifest[t.manifest["status"] == "kept"]
    root = t.root
    images, ok = decode_all([partial(_read, root, p) for p in kept["path"]])
    kept = kept[ok]
    index = {c: k for k, c in enumerate(CLASSES)}
    y = kept["label"].map(index).to_numpy(dtype=np.int64)
    if np.bincount(y, minlength=len(CLASSES)).min() < options.folds:
        raise UsageError(f"--labels needs at least {options.folds} kept images of every class")
    probs = out_of_sample(images, y, options.folds, options.quick, options.seed, progress)
    issues = find_label_issues(y, probs, filter_by=FILTER_BY,
                               return_indices_ranked_by="self_confidence")  # fmt: skip
    given = probs[np.arange(len(y)), y]
    others = probs.copy()
    others[np.arange(len(y)), y] = -1.0
    suggested = others.argmax(1)
    best = probs[np.arange(len(y)), suggested]
    issues = issues[given[issues] < MAX_RATIO * best[issues]]
    rows = kept.iloc[issues]
    return pd.DataFrame({
        "path": rows["path"].to_numpy(), "kind": "label_issue",
        "score": np.round(1.0 - given[issues], 4),
        "detail": [f"the model gives {CLASSES[suggested[i]]} {probs[i, suggested[i]]:.2f}, "
                   f"{CLASSES[y[i]]} {given[i]:.2f}" for i in issues],
        "label": rows["label"].to_numpy(),
        "suggested_label": [CLASSES[suggested[i]] for i in issues],
        "split": rows["split"].to_numpy(), "source": rows["source"].to_numpy(),
        "source_path": rows["source_path"].to_numpy(),
    }, columns=list(REVIEW_COLUMNS))  # fmt: skip
