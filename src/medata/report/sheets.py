"""Contact sheets (one PNG per duplicate group) and an HTML gallery of them: people judge
duplicates by looking. Images come from the dataset folder, or from the original inputs for
members that are not in it; a member with neither is drawn as a labelled blank."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from medata.probe import preview
from medata.report.text import visible

THUMB = 112
CAPTION = 60

Loader = Callable[[pd.Series], bytes | None]


def _thumb(data: bytes | None) -> Image.Image:
    tile = Image.new("RGB", (THUMB, THUMB), (235, 235, 235))
    if data is None:
        ImageDraw.Draw(tile).text((8, THUMB // 2 - 6), "(no file)", fill=(120, 120, 120))
        return tile
    im = preview(data, THUMB)
    if im is None:  # a broken file is drawn as such, the sheet goes on
        ImageDraw.Draw(tile).text((8, THUMB // 2 - 6), "(undecodable)", fill=(160, 0, 0))
    else:
        tile.paste(im, ((THUMB - im.width) // 2, (THUMB - im.height) // 2))
    return tile


SHOWN = 48  # members drawn on one group's sheet at most
PER_ROW = 12


def shown(members: pd.DataFrame) -> pd.DataFrame:
    """The members a sheet draws: all of a group up to ``SHOWN``; of a larger one (a burst of
    frames), the kept members first, then the others in the group's order."""
    if len(members) <= SHOWN:
        return members
    kept = (members["status"].astype(str) == "kept").to_numpy()
    return pd.concat([members[kept], members[~kept]]).head(SHOWN)


def sheet(members: pd.DataFrame, load: Loader) -> Image.Image:
    """Thumbnails in rows of ``PER_ROW``; under each: split/label, source, distance and status.
    A group larger than ``SHOWN`` draws that many (see ``shown``) and says how many more."""
    font = ImageFont.load_default()
    drawn = shown(members)
    n, more = len(drawn), len(members) - len(drawn)
    cell_w, cell_h = THUMB + 6, THUMB + CAPTION + 6
    rows = -(-n // PER_ROW)
    footer = 20 if more else 0
    im = Image.new("RGB", (min(n, PER_ROW) * cell_w + 6, rows * cell_h + 6 + footer), "white")
    draw = ImageDraw.Draw(im)
    for k, (_, row) in enumerate(drawn.iterrows()):
        x, y = 6 + (k % PER_ROW) * cell_w, 6 + (k // PER_ROW) * cell_h
        im.paste(_thumb(load(row)), (x, y))
        status = str(row["status"])
        colour = {"kept": (0, 110, 0), "excluded": (110, 110, 110)}.get(status, (180, 0, 0))
        label = row["label"] if isinstance(row["label"], str) else f"({row['source_label']})"
        score = row.get("score")
        scored = f"s={float(score):.2f}" if score is not None and score == score else "s=-"
        kind = row.get("kind") or ""
        lines = [f"{row['split']} / {label}", f"{row['source']}  d={int(row['distance'])}",
                 f"{kind} {scored}", status]  # fmt: skip
        for j, text in enumerate(lines):
            draw.text((x, y + THUMB + 3 + j * 14), text[:20], fill=colour if j == 3 else "black",
                      font=font)  # fmt: skip
    if more:
        draw.text((6, rows * cell_h + 6), f"and {more:,} more members not drawn", fill="black",
                  font=font)  # fmt: skip
    return im


def write_sheets(manifest: pd.DataFrame, member: pd.DataFrame, table: pd.DataFrame, out: Path,
                 load: Loader, max_sheets: int) -> list[tuple[str, Path]]:  # fmt: skip
    """Leak and conflict groups first, then the largest; at most ``max_sheets`` PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    order = table.assign(urgent=table["cross_split"] | table["label_conflict"]).sort_values(
        ["urgent", "size", "group"], ascending=[False, False, True], kind="stable"
    )
    written = []
    joined = manifest.loc[member["row"]].reset_index(drop=True)
    joined["dup_group"] = member["group"].to_numpy()
    joined["distance"] = member["distance"].to_numpy()
    joined["score"] = member["score"].to_numpy()
    joined["kind"] = member["kind"].to_numpy()
    by_group = dict(tuple(joined.groupby("dup_group", sort=False)))
    for gid in order["group"].head(max_sheets):
        path = out / f"{gid}.png"
        sheet(by_group[gid], load).save(path)
        written.append((gid, path))
    return written


def write_gallery(out: Path, sheets: list[tuple[str, Path]], table: pd.DataFrame,
                  summary: dict[str, object]) -> Path:  # fmt: skip
    from medata.report.templating import render_page

    info = table.set_index("group")
    items = []
    for gid, path in sheets:
        g = info.loc[gid]
        flags = [str(g["kind"])] + [name for name, on in (("leak", g["cross_split"]),
                                     ("conflict", g["label_conflict"]),
                                     ("cross-source", g["cross_source"])) if on]  # fmt: skip
        items.append({"src": path.name, "id": gid, "size": int(g["size"]),
                      "flags": ", ".join(flags), "labels": str(g["labels"]),
                      "min_score": str(g.get("min_score"))})  # fmt: skip
    page = render_page("gallery.html.j2", summary=list(summary.items()), items=items,
                       total=len(table))  # fmt: skip
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def grid(
    rows: pd.DataFrame, load: Loader, captions: list[list[str]], columns: int = 8
) -> Image.Image:
    """Thumbnails in rows of ``columns``, each with its caption lines (cut to fit) under it."""
    font = ImageFont.load_default()
    n = max(1, len(rows))
    lines = max((len(c) for c in captions), default=1)
    cell_w, cell_h = THUMB + 6, THUMB + 14 * lines + 12
    cols = min(columns, n)
    im = Image.new("RGB", (cols * cell_w + 6, -(-n // cols) * cell_h + 6), "white")
    draw = ImageDraw.Draw(im)
    for k, ((_, row), caption) in enumerate(zip(rows.iterrows(), captions, strict=True)):
        x, y = 6 + (k % cols) * cell_w, 6 + (k // cols) * cell_h
        im.paste(_thumb(load(row)), (x, y))
        for j, text in enumerate(caption):
            draw.text((x, y + THUMB + 3 + j * 14), visible(text)[:20], fill="black", font=font)
    return im


def write_review_sheets(table: pd.DataFrame, manifest: pd.DataFrame, out: Path, load: Loader,
                        per_sheet: int) -> list[Path]:  # fmt: skip
    """One PNG per kind found (``<kind>.png``): its ``per_sheet`` worst images, worst first, each
    with its label (and the suggested one), split and score."""
    out.mkdir(parents=True, exist_ok=True)
    by_path = manifest[manifest["path"].notna()].set_index("path")
    written = []
    for kind, rows in table.groupby("kind", sort=False):
        worst = rows.head(per_sheet)
        members = by_path.loc[worst["path"].tolist()].reset_index()
        captions = []
        for _, r in worst.iterrows():
            label = str(r["label"])
            if isinstance(r["suggested_label"], str):
                label = f"{label}>{r['suggested_label']}"
            captions.append([label, f"{r['split']}  s={float(r['score']):.2f}"])
        path = out / f"{kind}.png"
        grid(members, load, captions).save(path)
        written.append(path)
    return written
