"""Baseline training time: epoch seconds on the real archive and on ~40,000 48x48 images.

    python bench/bench_train.py [--zip ../shared/data/micro-expressions.zip] [--images 40000]

Part 1 trains the default baseline on the real kmirfan archive merged alone (deduplicated) and
prints test accuracy / macro-F1 beside the dataset card's best (0.464 / 0.333 on its six-class
merge). Part 2 times epochs on a generated dataset of about ``--images`` images (the size of the
three sources merged) and extrapolates the default run. Peak memory is sampled from outside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from memsample import run_watched

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def real(medata: list[str], zip_path: Path, root: Path) -> None:
    """The default run on the real archive merged alone (deduplicated)."""
    subprocess.run([*medata, "merge", str(zip_path), "--out", str(root / "km"), "-q"], check=True)
    out, secs, peak = run_watched([*medata, "train-baseline", str(root / "km"), "--out",
                              str(root / "run"), "--json", "--source", str(zip_path)])  # fmt: skip
    m = json.loads(out)
    hist = json.loads((root / "run" / "history.json").read_text())
    print(
        f"real kmirfan, default run: {m['train_images']} train images, {len(hist)} epochs, "
        f"{secs:.0f} s, {sum(e['seconds'] for e in hist) / len(hist):.1f} s/epoch, "
        f"peak {peak:.0f} MB"
    )
    t = m["test"]
    print(
        f"  test accuracy {t['accuracy']:.3f}, macro-F1 {t['macro_f1']:.3f}, "
        f"weighted-F1 {t['weighted_f1']:.3f} (dataset card's best: 0.464 / 0.333)"
    )
    if "leak_slice" in m:
        s = m["leak_slice"]
        print(
            f"  leak slice ({s['n']} test copies of train images): accuracy "
            f"{s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}"
        )


def large(medata: list[str], images: int, epochs: int, root: Path) -> None:
    """Epoch time on a generated set of about ``images`` kept images (kmirfan layout)."""
    import random

    from medata.demo.synth import kmirfan

    per_class = int(images / 6 / (4 / 3))  # train n and test n/3 per class
    kmirfan(per_class, random.Random(0)).write_dir(root / "big-src")
    subprocess.run([*medata, "merge", f"kmirfan={root / 'big-src'}", "--out", str(root / "big"),
                    "-q", "--no-dedupe"], check=True)  # fmt: skip
    out, secs, peak = run_watched(
        [
            *medata,
            "train-baseline",
            str(root / "big"),
            "--out",
            str(root / "run-big"),
            "--json",
            "--epochs",
            str(epochs),
        ]
    )
    m = json.loads(out)
    hist = json.loads((root / "run-big" / "history.json").read_text())
    per_epoch = sum(e["seconds"] for e in hist) / len(hist)
    overhead = secs - sum(e["seconds"] for e in hist)
    print(
        f"generated set: {m['train_images'] + m['validation_images']} train+val images, "
        f"{m['test']['n']} test, {per_epoch:.1f} s/epoch, {len(hist)} epochs in {secs:.0f} s, "
        f"peak {peak:.0f} MB"
    )
    default_epochs = min(30, 4000 // -(-m["train_images"] // 128))  # the --max-steps budget
    print(
        f"  a default run ({default_epochs} epochs at most: --epochs 30, --max-steps 4000) "
        f"extrapolated: {overhead + default_epochs * per_epoch:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--images", type=int, default=40_000, help="kept images generated")
    ap.add_argument("--epochs", type=int, default=2, help="epochs timed on the large set")
    ap.add_argument("--skip-real", action="store_true", help="only the large generated set")
    args = ap.parse_args()
    medata = [sys.executable, "-m", "medata"]
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_real:
            real(medata, args.zip, Path(tmp))
        large(medata, args.images, args.epochs, Path(tmp))


if __name__ == "__main__":
    main()
