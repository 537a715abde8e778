"""Quality findings on planted copies of real images, and what they cost in the probe.

    python bench/bench_review.py [--zip ../shared/data/micro-expressions.zip] [--n 300]

Part 1, recall and false flags: the real archive merged without dedupe (its kept images are the
untouched population), plus ``n`` randomly chosen kept images planted four ways: darkened
(x 0.3), brightened (255 - (255 - x) x 0.3), blurred (Gaussian, radius 2) and flattened
(contrast x 0.15 around the mean). Every planted copy is probed like any file and scored with the
rest. Recall: planted copies flagged with their kind. False flags: untouched images flagged
dark, light, blurry or low_information (grey_as_colour is a fact, not a judgement: counted
apart).

Part 2, cost: the probe of the archive's images with and without the properties (the same
process, interleaved rounds, best of 5), per image.

Part 3 (``--labels``, minutes): 5% of the kept labels of the real archive's merge flipped to
another class (files moved to match), then ``review --labels`` (5 folds; ``--quick`` and
default): recall of the flips among the label-issue findings, findings per planted flip, and a
CSV of 40 unplanted findings to look at.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"


def _jpeg(a: np.ndarray | Image.Image) -> bytes:
    im = a if isinstance(a, Image.Image) else Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


PLANTS = {
    "dark": lambda im, a: _jpeg(a * 0.3),
    "light": lambda im, a: _jpeg(255 - (255 - a) * 0.3),
    "blurry": lambda im, a: _jpeg(im.filter(ImageFilter.GaussianBlur(2))),
    "low_information": lambda im, a: _jpeg(a.mean() + (a - a.mean()) * 0.15),
}


def planted_case(zip_path: Path, n: int, seed: int = 0) -> None:
    import pandas as pd

    from medata import InputSpec, MergeOptions, merge
    from medata.probe import probe_bytes
    from medata.properties import PROPERTY_COLUMNS
    from medata.review.quality import quality_findings

    with tempfile.TemporaryDirectory() as tmp:
        result = merge([InputSpec(zip_path)], Path(tmp) / "out", MergeOptions(dedupe=None))
    m = result.manifest
    kept = m[m["status"] == "kept"]
    rng = np.random.default_rng(seed)
    chosen = kept.loc[np.sort(rng.choice(kept.index, n, replace=False))]
    rows, truth = [], []
    with zipfile.ZipFile(zip_path) as zf:
        names = {i.filename.lstrip("./"): i for i in zf.infolist()}
        for _, row in chosen.iterrows():
            data = zf.read(names[row["source_path"]])
            im = Image.open(io.BytesIO(data)).convert("RGB")
            a = np.asarray(im, dtype=np.float64)
            for kind, plant in PLANTS.items():
                r = probe_bytes(f"{kind}/{row['source_path']}", plant(im, a))
                new = row.copy()
                for col in (*PROPERTY_COLUMNS, "width", "height", "mode"):
                    new[col] = getattr(r, col)
                new["source_path"] = r.key
                rows.append(new)
                truth.append(kind)
    planted = pd.DataFrame(rows)
    planted.index = range(len(m), len(m) + len(planted))
    both = pd.concat([m, planted])
    t = time.perf_counter()
    found = quality_findings(both)
    seconds = time.perf_counter() - t
    by_row: dict[int, set[str]] = {}
    for f in found:
        by_row.setdefault(f.row, set()).add(f.kind.value)
    print(f"quality findings over {len(kept)} untouched kept images + {len(planted)} planted "
          f"copies ({n} images x 4): {seconds:.2f} s")  # fmt: skip
    print("| planted as | copies | flagged as that kind | recall | also flagged as |")
    print("|---|---|---|---|---|")
    truth_arr = np.array(truth)
    for kind in PLANTS:
        idx = planted.index[truth_arr == kind]
        hit = sum(kind in by_row.get(i, set()) for i in idx)
        others: dict[str, int] = {}
        for i in idx:
            for k in by_row.get(i, set()) - {kind}:
                others[k] = others.get(k, 0) + 1
        print(
            f"| {kind} | {len(idx)} | {hit} | {100 * hit / len(idx):.1f}% | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(others.items())) or '-'} |"
        )
    print("\n| kind | untouched images flagged | share |")
    print("|---|---|---|")
    judged = {"dark", "light", "blurry", "low_information"}
    any_judged = sum(bool(by_row.get(i, set()) & judged) for i in kept.index)
    for kind in ("dark", "light", "blurry", "low_information", "grey_as_colour", "odd_size",
                 "odd_aspect"):  # fmt: skip
        c = sum(kind in by_row.get(i, set()) for i in kept.index)
        print(f"| {kind} | {c} | {100 * c / len(kept):.2f}% |")
    print(
        f"| any of dark, light, blurry, low_information | {any_judged} | "
        f"{100 * any_judged / len(kept):.2f}% |"
    )


def cost_case(zip_path: Path, rounds: int = 5) -> None:
    import medata.probe as probe

    with zipfile.ZipFile(zip_path) as zf:
        datas = [zf.read(i) for i in zf.infolist() if not i.is_dir()]
    real_add, real_sample = probe._add_properties, probe.colour_sample

    def run(on: bool) -> float:
        probe._add_properties = real_add if on else (  # type: ignore[assignment]
            lambda rows, smalls: [r.pop("_colour", None) for r in rows])  # fmt: skip
        probe.colour_sample = real_sample if on else (lambda im: None)  # type: ignore[assignment]
        t = time.perf_counter()
        for k in range(0, len(datas), 1000):
            probe._finish([probe._checked_decode(str(i), d)
                           for i, d in enumerate(datas[k : k + 1000])])  # fmt: skip
        return time.perf_counter() - t

    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for on in (False, True):
            times[on].append(run(on))
    probe._add_properties, probe.colour_sample = real_add, real_sample
    off, on = min(times[False]), min(times[True])
    n = len(datas)
    print(f"\nprobe (sha256, decode, thumbnails, pHash) of the {n} archive members, one process, "
          f"best of {rounds}:")  # fmt: skip
    print("| | seconds | us per image |")
    print("|---|---|---|")
    print(f"| without properties | {off:.2f} | {1e6 * off / n:.0f} |")
    print(f"| with properties | {on:.2f} | {1e6 * on / n:.0f} |")
    print(f"| added | {on - off:.2f} | {1e6 * (on - off) / n:.0f} ({100 * (on / off - 1):.1f}%) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--labels", action="store_true", help="also part 3 (k-fold training: minutes)")
    args = ap.parse_args()
    planted_case(args.zip, args.n)
    cost_case(args.zip)
    if args.labels:
        print("\nreview --labels on the real archive's merge with 5% planted label flips:")
        print("| mode | kept | planted | findings | planted found (recall) | findings per flip "
              "| suggested = true label | seconds |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for quick in (True, False):
            r = labels_case(args.zip, quick=quick)
            print(f"| {'--quick' if quick else 'default'} | {r['kept']} | {r['planted']} | "
                  f"{r['findings']} | {r['planted_found']} ({100 * r['recall']:.1f}%) | "
                  f"{r['findings_per_flip']:.2f} | {r['suggested_is_true_label']} | "
                  f"{r['seconds']:.0f} |", flush=True)  # fmt: skip
            print(f"  unplanted findings to look at: {r['unplanted_sample']}")


if __name__ == "__main__":
    main()


def labels_case(zip_path: Path, share: float = 0.05, folds: int = 5, quick: bool = False,
                seed: int = 0, plant_seed: int = 1) -> dict[str, object]:  # fmt: skip
    """Plant ``share`` label flips in a copy of the real archive's merge (default dedupe), run
    ``review --labels``; recall of the flips, findings per flip, time; and a sample of the
    unplanted findings for a person to look at (paths printed)."""
    import pandas as pd

    from medata import InputSpec, MergeOptions, merge
    from medata.dedupe.dataset import rewrite
    from medata.manifest import load_target
    from medata.records import CLASSES
    from medata.review.options import LabelOptions, ReviewOptions
    from medata.review.run import review

    tmp = Path(tempfile.mkdtemp(prefix="medata-flips-"))
    out = tmp / "merged"
    merge([InputSpec(zip_path)], out, MergeOptions())
    t = load_target(out)
    m = t.manifest
    kept = m.index[m["status"] == "kept"]
    # Other flips than those the filter was calibrated on (plant seed 0)
    rng = np.random.default_rng(plant_seed)
    flipped = rng.choice(kept, int(round(share * len(kept))), replace=False)
    after = m.copy()
    truth = {}
    for i in flipped:
        old = after.at[i, "label"]
        new = CLASSES[(CLASSES.index(old) + int(rng.integers(1, 6))) % 6]
        split = after.at[i, "split"]
        new_path = f"{split}/{new}/{Path(str(after.at[i, 'path'])).name}"
        after.at[i, "label"], after.at[i, "path"] = new, new_path
        truth[new_path] = (new, old)
    rewrite(t, after, {"medata.bench": "planted label flips"})
    start = time.perf_counter()
    result = review(out, ReviewOptions(labels=LabelOptions(folds, quick, seed), pictures=False))
    seconds = time.perf_counter() - start
    issues = result.table[result.table["kind"] == "label_issue"]
    hit = issues[issues["path"].isin(list(truth))]
    right = sum(truth[r.path][1] == r.suggested_label for r in hit.itertuples())
    unplanted = issues[~issues["path"].isin(list(truth))]
    sample = unplanted.sample(min(40, len(unplanted)), random_state=seed)
    sample_file = tmp / "unplanted-sample.csv"
    pd.DataFrame(sample).to_csv(sample_file, index=False)
    return {"kept": len(kept), "planted": len(truth), "findings": len(issues),
            "planted_found": len(hit), "recall": len(hit) / max(1, len(truth)),
            "findings_per_flip": len(issues) / max(1, len(truth)),
            "suggested_is_true_label": right, "seconds": seconds, "folds": folds,
            "quick": quick, "dataset": str(out), "unplanted_sample": str(sample_file)}  # fmt: skip
