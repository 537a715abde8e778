"""medata review's quality findings against cleanvision's on the same real images.

    python -m venv /tmp/cv && /tmp/cv/bin/pip install cleanvision
    python bench/bench_cleanvision.py --cleanvision-python /tmp/cv/bin/python

The real archive is merged without dedupe (7,761 kept images); cleanvision (run in its own
environment: it is not a dependency) looks at the merged folder for the matching issue types,
and medata's findings come from the manifest the merge wrote. Printed: per kind, how many each
flags, how many both flag, the agreement (Jaccard), and the time. cleanvision decodes every
image again; medata's cost is what the properties add to the probe's single decode (measured in
bench_review.py) plus the findings over the manifest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_ZIP = HERE.parent.parent / "shared" / "data" / "micro-expressions.zip"
PAIRS = {  # medata kind -> cleanvision issue type
    "dark": "dark",
    "light": "light",
    "blurry": "blurry",
    "low_information": "low_information",
    "grey_as_colour": "grayscale",
    "odd_size": "odd_size",
    "odd_aspect": "odd_aspect_ratio",
}
CLEANVISION = """
import json, sys, time
from cleanvision import Imagelab
folder, kinds = sys.argv[1], sys.argv[2].split(",")
t = time.perf_counter()
lab = Imagelab(data_path=folder)
lab.find_issues({k: {} for k in kinds})
seconds = time.perf_counter() - t
issues = lab.issues
out = {k: sorted(str(p) for p in issues.index[issues[f"is_{k}_issue"]]) for k in kinds}
print(json.dumps({"seconds": seconds, "flagged": out, "images": len(issues)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--cleanvision-python", required=True)
    args = ap.parse_args()

    from medata import InputSpec, MergeOptions, merge
    from medata.review.quality import quality_findings

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "merged"
        result = merge([InputSpec(args.zip)], out, MergeOptions(dedupe=None))
        m = result.manifest
        t = time.perf_counter()
        found = quality_findings(m)
        ours_s = time.perf_counter() - t
        ours: dict[str, set[str]] = {k: set() for k in PAIRS}
        for f in found:
            ours[f.kind.value].add(str((out / str(m.at[f.row, "path"])).resolve()))
        cv = subprocess.run([args.cleanvision_python, "-c", CLEANVISION, str(out),
                             ",".join(PAIRS.values())],
                            capture_output=True, text=True, check=True)  # fmt: skip
        theirs_doc = json.loads(cv.stdout.strip().splitlines()[-1])
    theirs = {k: {str(Path(p).resolve()) for p in theirs_doc["flagged"][v]}
              for k, v in PAIRS.items()}  # fmt: skip
    n = int((m["status"] == "kept").sum())
    print(f"{n} kept images of {args.zip.name} (merge --no-dedupe)")
    print("| medata kind (cleanvision issue) | medata | cleanvision | both | agreement (Jaccard) |")
    print("|---|---|---|---|---|")
    for kind, issue in PAIRS.items():
        a, b = ours[kind], theirs[kind]
        union = len(a | b)
        jac = f"{len(a & b) / union:.2f}" if union else "-"
        print(f"| {kind} ({issue}) | {len(a)} | {len(b)} | {len(a & b)} | {jac} |")
    print(f"\ntime: cleanvision {theirs_doc['seconds']:.1f} s (decodes every image again); "
          f"medata's findings over the manifest {ours_s:.2f} s, plus what the properties add to "
          "the probe (bench_review.py)")  # fmt: skip


if __name__ == "__main__":
    main()
