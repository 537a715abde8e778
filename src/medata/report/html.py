"""One self-contained HTML report: inline CSS, charts as inline SVG, thumbnails as data URIs.
No network, no JavaScript: a user double-clicks the file and sees everything."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import pandas as pd

from medata.probe import preview
from medata.records import CLASSES, SPLITS
from medata.report.templating import markup, render_page

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")  # fmt: skip
Loader = Callable[[pd.Series], bytes | None]


def _e(text: object) -> str:
    return html.escape(str(text))


def bar_chart(series: dict[str, dict[str, int]], categories: list[str], title: str) -> str:
    """Grouped bars: one group per category, one bar per series (e.g. train/test)."""
    width, height, pad, top = 640, 260, 40, 30
    names = list(series)
    peak = max([1] + [v for s in series.values() for v in s.values()])
    group_w = (width - 2 * pad) / max(1, len(categories))
    bar_w = group_w * 0.8 / max(1, len(names))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
             f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']  # fmt: skip
    for k, cat in enumerate(categories):
        x0 = pad + k * group_w + group_w * 0.1
        for j, name in enumerate(names):
            v = series[name].get(cat, 0)
            h = (height - top) * v / peak
            x, y = x0 + j * bar_w, height - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{_e(name)} {_e(cat)}: {v}'
                         f'</title></rect><text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" '
                         f'font-size="10" text-anchor="middle">{v}</text>')  # fmt: skip
        parts.append(f'<text x="{pad + (k + 0.5) * group_w:.1f}" y="{height + 16}" font-size="12" '
                     f'text-anchor="middle">{_e(cat)}</text>')  # fmt: skip
    parts.append(_legend(names, height + 34, pad))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(rows: dict[str, dict[str, int]], title: str) -> str:
    """One horizontal bar per row (class), split into shares by column (source)."""
    keys = sorted({k for r in rows.values() for k in r})
    width, row_h, label_w = 640, 24, 90
    height = row_h * len(rows) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']  # fmt: skip
    for i, (name, counts) in enumerate(rows.items()):
        y, total, x = 4 + i * row_h, sum(counts.values()), float(label_w)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" '
                     f'text-anchor="end">{_e(name)}</text>')  # fmt: skip
        for j, key in enumerate(keys):
            share = counts.get(key, 0) / total if total else 0
            w = (width - label_w - 10) * share
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{PALETTE[j % len(PALETTE)]}"><title>{_e(name)} from '
                    f"{_e(key)}: {counts.get(key, 0)} ({share:.0%})</title></rect>"
                )
            x += w
    parts.append(_legend(keys, height - 8, label_w))
    parts.append("</svg>")
    return "".join(parts)


def histogram(edges: list[float], counts: list[int], title: str) -> str:
    width, height, pad = 300, 140, 24
    peak = max([1] + counts)
    n = max(1, len(counts))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']  # fmt: skip
    bw = (width - 2 * pad) / n
    for k, c in enumerate(counts):
        h = (height - 10) * c / peak
        parts.append(f'<rect x="{pad + k * bw:.1f}" y="{height - h:.1f}" width="{bw - 1:.1f}" '
                     f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{edges[k]:.0f}-'
                     f'{edges[k + 1]:.0f}: {c}</title></rect>')  # fmt: skip
    if edges:
        parts.append(f'<text x="{pad}" y="{height + 14}" font-size="11">{edges[0]:.0f}</text>'
                     f'<text x="{width - pad}" y="{height + 14}" font-size="11" '
                     f'text-anchor="end">{edges[-1]:.0f} px</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _legend(names: list[str], y: float, x0: float) -> str:
    out, x = [], x0
    for j, name in enumerate(names):
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                   f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{x + 14}" y="{y}" '
                   f'font-size="11">{_e(name)}</text>')  # fmt: skip
        x += 24 + 7 * len(name)
    return "".join(out)


def thumbnail(data: bytes | None, size: int = 64) -> str | None:
    """A JPEG data URI, or None when there is nothing decodable to show."""
    im = preview(data, size)
    if im is None:  # shown as a placeholder instead
        return None
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _gallery(manifest: pd.DataFrame, load: Loader, largest: int) -> list[dict[str, Any]]:
    """The groups to show (every leak or conflict group and the ``largest`` largest), each with
    its members' thumbnails and captions."""
    g = manifest[manifest["dup_group"].notna()]
    if g.empty:
        return []
    per = g.groupby("dup_group")
    urgent = per["split"].nunique() > 1
    urgent |= per["status"].agg(lambda s: bool((s == "conflict").any()))
    size = per.size()
    chosen = sorted(
        set(urgent[urgent].index) | set(size.sort_values(ascending=False).head(largest).index)
    )
    groups = []
    for gid in chosen:
        members = g[g["dup_group"] == gid]
        cells = []
        for _, row in members.iterrows():
            label = row["label"] if isinstance(row["label"], str) else f"({row['source_label']})"
            score = row.get("dup_score")
            shown = f" · {row.get('dup_kind')} {float(score):.2f}" if pd.notna(score) else ""
            cells.append({
                "uri": thumbnail(load(row)), "alt": row["source_path"],
                "caption": f"{row['split']}/{label} · {row['source']} · {row['status']}{shown}",
            })  # fmt: skip
        groups.append({"id": gid, "kind": members["dup_kind"].iloc[0], "members": cells})
    return groups


def review_section(review: pd.DataFrame, labels_checked: bool, file: str,
                   manifest: pd.DataFrame, load: Loader,
                   shown: int = 8) -> dict[str, Any]:  # fmt: skip
    """What the report shows of a ``review.parquet``: counts per kind and the worst few."""
    at = {p: i for i, p in manifest["path"].items() if isinstance(p, str)}
    kinds = []
    for kind, rows in review.groupby("kind", sort=False):
        members = []
        for r in rows.head(shown).itertuples():
            row = manifest.loc[at[r.path]] if r.path in at else None
            label = str(r.label) + (f" → {r.suggested_label}" if isinstance(r.suggested_label, str)
                                    else "")  # fmt: skip
            members.append({
                "uri": thumbnail(load(row)) if row is not None else None,
                "alt": r.path, "caption": f"{r.split}/{label} · {float(r.score):.2f}",
            })  # fmt: skip
        kinds.append({"kind": kind, "count": len(rows), "members": members})
    counts = [[k["kind"], k["count"]] for k in kinds]
    return {"file": file, "labels_checked": labels_checked, "shown": shown, "kinds": kinds,
            "counts": counts}  # fmt: skip


def render(stats: dict[str, Any], manifest: pd.DataFrame, load: Loader, title: str,
           largest: int = 12, review: dict[str, Any] | None = None) -> str:  # fmt: skip
    bal = stats["balance"]
    comp = stats["composition"]
    imgs = stats["images"]["per_source"]
    fates = stats["fates"]
    dup = stats["duplicates"]
    return render_page(
        "report.html.j2",
        title=title,
        rows=stats["rows"],
        kept=stats["images"]["files"],
        total_bytes=stats["images"]["total_bytes"],
        balance_chart=markup(
            bar_chart(
                {s: bal[s]["counts"] for s in SPLITS},
                list(CLASSES),
                "Kept images per class and split",
            )
        ),  # fmt: skip
        balance_header=["class"] + list(SPLITS) + [f"{s} share" for s in SPLITS],
        balance_rows=[
            [c]
            + [bal[s]["counts"][c] for s in SPLITS]
            + [f"{bal[s]['shares'][c]:.1%}" for s in SPLITS]
            for c in CLASSES
        ],  # fmt: skip
        ratio=", ".join(f"{s}: {bal[s]['imbalance_ratio']}" for s in SPLITS),
        composition_chart=markup(stacked_bars(comp["counts"], "Source composition per class")),
        dominated=comp["dominated"],
        histograms=[
            (
                src,
                markup(
                    histogram(
                        info["width_histogram"]["edges"],
                        info["width_histogram"]["counts"],
                        f"Image width, {src}",
                    )
                ),
            )
            for src, info in imgs.items()
        ],  # fmt: skip
        size_rows=[
            [
                src,
                info["files"],
                info["width"].get("median"),
                info["height"].get("median"),
                ", ".join(f"{k} {v}" for k, v in info["modes"].items()),
                ", ".join(f"{k} {v}" for k, v in info["formats"].items()),
                info["bytes"],
            ]
            for src, info in imgs.items()
        ],  # fmt: skip
        fate_header=["source"] + list(next(iter(fates["by_source"].values()), {}).keys()),
        fate_rows=[[src] + list(v.values()) for src, v in fates["by_source"].items()],
        reason_rows=[[k, v] for k, v in fates["reasons"].items()],
        dup_rows=[[k, v] for k, v in dup.items() if k != "removed"]
        + [[f"removed as {k}", v] for k, v in dup["removed"].items()],
        groups=_gallery(manifest, load, largest),
        largest=largest,
        review=review,
    )
