"""Rich rendering of plain summaries, and a rich progress bar for the library's Progress hook."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from medata.records import CLASSES, SPLITS
from medata.report.text import markup_safe


class RichProgress:
    """Implements ``medata.progress.Progress`` with one rich bar per stage.

    It refreshes from the calling thread (no refresh thread), so the probe's process pool can
    fork safely.
    """

    def __init__(self, console: Console) -> None:
        self._last = 0.0
        self._progress = Progress(
            TextColumn("[bold]{task.description:>8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            auto_refresh=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def stage(self, name: str, total: int) -> None:
        if self._task is None:  # start on the first stage, so an early error prints alone
            self._progress.start()
        self._task = self._progress.add_task(name, total=total)
        self._progress.refresh()

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)
            now = time.monotonic()
            task = self._progress.tasks[-1]
            if now - self._last > 0.1 or task.finished:
                self._last = now
                self._progress.refresh()


def render_merge(console: Console, summary: dict[str, Any]) -> None:
    summary = markup_safe(summary)
    for item in summary["inputs"]:
        how = "named" if item["explicit"] else f"detected, score {item['score']:.2f}"
        note = (
            " (no known layout matched: generic <split>/<class>/ rule)"
            if (item["source"] == "generic" and not item["explicit"])
            else ""
        )
        console.print(
            f"[bold]{item['input']}[/]: {item['source']} ({how}), {item['files']} files{note}"
        )
    table = Table(title="Files by source and class", title_justify="left")
    statuses = [k for k, n in summary["status"].items() if n or k == "kept"]
    table.add_column("source")
    table.add_column("class")
    for status in statuses:
        table.add_column(status, justify="right")
    for row in summary["by_source"]:
        table.add_row(row["source"], row["class"], *(str(row[k]) for k in statuses))
    console.print(table)
    kept = Table(title="Kept images", title_justify="left")
    kept.add_column("split")
    for c in CLASSES:
        kept.add_column(c, justify="right")
    kept.add_column("total", justify="right")
    for split in SPLITS:
        counts = summary["kept"][split]
        kept.add_row(split, *(str(counts[c]) for c in CLASSES), str(sum(counts.values())))
    console.print(kept)
    if summary["reasons"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in summary["reasons"].items())
        console.print(f"Not kept, by reason: {reasons}")
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]Warning[/]: {warning}")
    s = summary["status"]
    fates = ", ".join(f"{n} {k}" for k, n in s.items() if n or k == "kept")
    console.print(
        f"[green]Wrote {summary['out']}[/]: {fates} of {summary['files']} input files "
        "(annotations.csv, manifest.parquet)."
    )


def render_findings(console: Console, result: Any, examples: int = 3) -> None:
    """A summary per code (count, severity, first paths), then the verdict line."""
    df = markup_safe(result.findings)
    if len(df):
        table = Table(title=f"Findings in {markup_safe(str(result.root))}", title_justify="left")
        for col in ("code", "severity", "count", "first paths"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for (code, severity), group in df.groupby(["code", "severity"], sort=False):
            style = "red" if severity == "error" else "yellow"
            paths = ", ".join(group["path"].head(examples))
            more = f" (+{len(group) - examples} more)" if len(group) > examples else ""
            table.add_row(str(code), f"[{style}]{severity}[/]", str(len(group)), paths + more)
        console.print(table)
    checked = f"{result.rows} rows, {result.files} files ({result.decoded} decoded)"
    stop = " Stopped at the first error (--fail-fast)." if result.stopped_early else ""
    if result.errors:
        console.print(f"[bold red]FAIL[/]: {result.errors} errors, {result.warnings} warnings "
                      f"in {checked}.{stop}")  # fmt: skip
    else:
        console.print(f"[bold green]PASS[/]: no errors, {result.warnings} warnings in {checked}.")


def render_dedupe(console: Console, info: dict[str, Any], table: Any, applied: bool) -> None:
    info, table = markup_safe(info), markup_safe(table)
    g, b = info["groups"], info["byte_identical"]
    console.print(
        f"[bold]{g['total']}[/] duplicate groups ({g['files']} files): {g['exact']} exact, "
        f"{g['near']} near; {g['cross_split']} across train/test, {g['label_conflict']} with "
        f"conflicting labels, {g['cross_source']} across sources."
    )
    console.print(
        f"Byte-identical: {b['groups']} groups, {b['files']} files, {b['cross_split']} across "
        f"splits, {b['label_conflict']} under different labels."
    )
    if len(table):
        top = Table(title="Largest groups", title_justify="left")
        for col in ("group", "size", "kind", "splits", "labels", "sources"):
            top.add_column(col, justify="right" if col == "size" else "left")
        for row in (
            table.sort_values(["size", "group"], ascending=[False, True]).head(10).itertuples()
        ):
            top.add_row(row.group, str(row.size), row.kind, row.splits, row.labels, row.sources)
        console.print(top)
    changes = ", ".join(f"{n} {k}" for k, n in sorted(info["changes"].items())) or "nothing"
    verb = "Applied" if applied else "Would change (run with --apply)"
    console.print(f"{verb}: {changes}.")
    if info.get("kept_unlisted"):
        kept = info["kept_unlisted"]
        console.print(f"Kept {len(kept)} files medata did not write (never deleted): "
                      + ", ".join(kept[:5]) + (" …" if len(kept) > 5 else ""))  # fmt: skip
    if "gallery" in info:
        console.print(f"Contact sheets: {info['gallery']}")


def render_query(console: Console, hits: Any) -> None:
    hits = markup_safe(hits)
    table = Table(title="Look-up", title_justify="left")
    for col in ("query", "match", "distance", "status", "detail"):
        table.add_column(col)
    for row in hits.itertuples():
        dist = (
            "" if row.distance is None or row.distance != row.distance else str(int(row.distance))
        )
        table.add_row(row.query, str(row.match or "-"), dist, str(row.status or "-"), row.detail)
    console.print(table)


def render_stats(console: Console, stats: dict[str, Any]) -> None:
    stats = markup_safe(stats)
    """Tables readable in 100 columns."""
    bal = stats["balance"]
    t = Table(title="Kept images per class", title_justify="left")
    t.add_column("class")
    for split in SPLITS:
        t.add_column(split, justify="right")
        t.add_column("share", justify="right")
    for c in CLASSES:
        cells = []
        for split in SPLITS:
            cells += [str(bal[split]["counts"][c]), f"{bal[split]['shares'][c]:.1%}"]
        t.add_row(c, *cells)
    t.add_row("total", *[x for s in SPLITS for x in (str(bal[s]["total"]), "")])
    console.print(t)
    console.print("Imbalance ratio (largest/smallest): " + ", ".join(
        f"{s} {bal[s]['imbalance_ratio']}" for s in SPLITS))  # fmt: skip
    comp = stats["composition"]["counts"]
    sources = sorted({s for c in comp.values() for s in c})
    t = Table(title="Kept images per class and source", title_justify="left")
    t.add_column("class")
    for s in sources:
        t.add_column(s, justify="right")
    for c in CLASSES:
        t.add_row(c, *(str(comp[c].get(s, 0)) for s in sources))
    console.print(t)
    for w in stats["composition"]["dominated"]:
        console.print(f"[yellow]Warning[/]: {w['class']} comes {w['share']:.0%} from {w['source']}"
                      ": a model may learn the source instead of the expression.")  # fmt: skip
    t = Table(title="Images per source", title_justify="left")
    for col in ("source", "files", "width min/med/max", "height med", "modes", "formats", "MB"):
        t.add_column(col, justify="left" if col in ("source", "modes", "formats") else "right")
    for src, info in stats["images"]["per_source"].items():
        w = info["width"]
        t.add_row(src, str(info["files"]), f"{w['min']:.0f}/{w['median']:.0f}/{w['max']:.0f}",
                  f"{info['height']['median']:.0f}",
                  ", ".join(f"{k} {v}" for k, v in info["modes"].items()),
                  ", ".join(f"{k} {v}" for k, v in info["formats"].items()),
                  f"{info['bytes'] / 2**20:.1f}")  # fmt: skip
    console.print(t)
    fates = stats["fates"]
    statuses = [k for k, n in fates["status"].items() if n]
    t = Table(title="What the merge did", title_justify="left")
    t.add_column("source")
    for s in statuses:
        t.add_column(s, justify="right")
    for src, counts in fates["by_source"].items():
        t.add_row(src, *(str(counts[s]) for s in statuses))
    console.print(t)
    if fates["reasons"]:
        console.print("Reasons: " + ", ".join(f"{k} {v}" for k, v in fates["reasons"].items()))
    d = stats["duplicates"]
    console.print(
        f"Duplicates: {d['groups']} groups ({d['files']} files; {d['exact']} exact, {d['near']} "
        f"near), {d['cross_split']} across train/test, {d['cross_source']} across sources, "
        f"{d['conflict']} with conflicting labels; removed "
        + (", ".join(f"{n} {k}" for k, n in d["removed"].items()) or "none")
        + "."
    )


def render_training(console: Console, metrics: dict[str, Any], run_dir: Any) -> None:
    metrics, run_dir = markup_safe(metrics), markup_safe(str(run_dir))
    test = metrics["test"]
    t = Table(title=f"Baseline on the test split ({test['n']} images)", title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for c, m in test["per_class"].items():
        t.add_row(c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                  str(m["support"]))  # fmt: skip
    console.print(t)
    console.print(f"accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f}, "
                  f"weighted-F1 {test['weighted_f1']:.3f}")  # fmt: skip
    leak = metrics.get("leak_slice")
    if leak:
        console.print(
            f"leak slice (test copies of train images, removed by dedupe; {leak['n']} "
            f"images): accuracy {leak['accuracy']:.3f}, macro-F1 {leak['macro_f1']:.3f}"
        )
    console.print(f"Run folder: {run_dir} (model.pt, metrics.json, confusion.png, curve.png)")


def render_predictions(console: Console, table: Any) -> None:
    table = markup_safe(table)
    t = Table(title="Predictions", title_justify="left")
    for col in ("image", "label", "confidence"):
        t.add_column(col)
    for row in table.itertuples():
        conf = (
            ""
            if row.confidence is None or row.confidence != row.confidence
            else f"{row.confidence:.3f}"
        )
        t.add_row(row.image, str(row.label or "(unreadable)"), conf)
    console.print(t)


def render_review(console: Console, summary: dict[str, Any], table: Any, examples: int = 3) -> None:
    """Per kind: how many, and the worst few (path, score, detail)."""
    summary, table = markup_safe(summary), markup_safe(table)
    out = Table(title=f"Review of {summary['kept']} kept images", title_justify="left")
    for col in ("kind", "images", "worst (score: detail)"):
        out.add_column(col, justify="right" if col == "images" else "left")
    for kind, n in summary["findings"].items():
        if kind == "label_issue" and not summary["labels_checked"]:
            out.add_row(kind, "-", "not checked (add --labels)")
            continue
        rows = table[table["kind"] == kind].head(examples)
        worst = "\n".join(f"{r.path} ({float(r.score):.2f}: {r.detail})" for r in rows.itertuples())
        out.add_row(kind, str(n), worst or "-")
    console.print(out)
    if summary["measured"] < summary["kept"]:
        console.print(f"[yellow]{summary['kept'] - summary['measured']} kept images have no "
                      "image properties (a manifest of an older medata): merge again to check "
                      "their quality.[/]")  # fmt: skip
    console.print(f"{summary['files_with_findings']} files to look at; table: "
                  f"{summary['review_file']}")  # fmt: skip
    if "sheets" in summary:
        console.print(f"Contact sheets (worst first): {summary['sheets']}")
    if "excluded" in summary:
        gone = ", ".join(f"{n} {k}" for k, n in summary["excluded"].items())
        console.print(f"Excluded from the dataset (recorded in the manifest): {gone}.")
