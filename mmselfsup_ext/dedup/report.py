"""``report.html``: one self-contained page (images embedded as base64).

Per tag: the distance histogram with the threshold line, and the duplicate groups
as thumbnails with the kept image marked. With coverage-preserving selection, each
removed image is shown with the outlines of the kept images that cover it, projected
through the verified homographies, beside those images. Groups are capped so a run
with thousands of groups still gives a page a browser opens quickly.
"""
from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from ..fileio.discover import relative_posix
from ..fileio.loading import UnreadableImageError, load_image
from .results import DedupRun, TagOutcome
from .spatial import HISTOGRAM_SOURCE
from .summary import run_rows
from .verify.geometry import invert_homography, warp_outline
from .writers import atomic_write_text

__all__ = ["MAX_GROUPS", "MAX_THUMBS_PER_GROUP", "THUMB_SIZE", "histogram_png",
           "write_report"]

MAX_GROUPS = 50
MAX_THUMBS_PER_GROUP = 8
THUMB_SIZE = 160

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
.group{border:1px solid #ddd;margin:.6em 0;padding:.4em}.thumbs{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;width:%dpx;font-size:11px;word-break:break-all}
figure img{border:3px solid #c33;max-width:100%%}figure.kept img{border-color:#2a2}
.kept figcaption b{color:#2a2}.note{color:#666}
""" % THUMB_SIZE


def histogram_png(histogram: np.ndarray, threshold: int, title: str,
                  thresholds: dict[str, int] | None = None,
                  xlabel: str = "Hamming distance") -> bytes:
    """Render a distance histogram with the duplicate threshold as a PNG.

    Parameters
    ----------
    histogram : ndarray
        Counts per distance.
    threshold : int
        Summary threshold; drawn at ``T + 0.5`` (duplicate iff ``d <= T``).
    title : str
        Plot title.
    thresholds : dict of str to int, optional
        Per-group thresholds, drawn as thin dotted lines when they differ.
    xlabel : str
        What a distance is (spatial codes: the percentage of disagreeing cells).

    Returns
    -------
    bytes
        PNG file content.
    """
    hist = np.asarray(histogram)
    fig = Figure(figsize=(6.4, 2.8), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(np.arange(hist.size), hist, width=1.0, color="#4a7ab5")
    if thresholds and len(set(thresholds.values())) > 1:
        for value in sorted(set(thresholds.values())):
            if value >= 0:
                ax.axvline(value + 0.5, color="#e08a2c", lw=0.8, ls=":")
    if threshold >= 0:
        ax.axvline(threshold + 0.5, color="#c33", lw=1.5, label=f"T = {threshold}")
        ax.legend(loc="upper right")
        ax.set_title(title)
    else:
        ax.set_title(f"{title} (T = {threshold}: no duplicates)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_xlim(-0.5, hist.size - 0.5)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _thumbnail_image(path: Path) -> Image.Image | None:
    try:
        img = load_image(path, min_size=THUMB_SIZE)
    except UnreadableImageError:
        return None
    img.thumbnail((THUMB_SIZE, THUMB_SIZE))
    return img


def _jpeg_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return _data_uri(buf.getvalue(), "image/jpeg")


def _thumbnail(path: Path) -> str | None:
    img = _thumbnail_image(path)
    return None if img is None else _jpeg_uri(img)


# Outline colours of the coverers, in the order their thumbnails are shown.
_OUTLINE_COLOURS = ("#2a2", "#17c", "#e80", "#a3c", "#0aa", "#c33", "#885", "#555")


def _group_html(outcome: TagOutcome, files: list[Path], comp: np.ndarray, kept: int,
                thumbs: dict[str, str | None]) -> str:
    shown = [kept] + [int(p) for p in comp if p != kept][:MAX_THUMBS_PER_GROUP - 1]
    kept_set = set(outcome.decision.keep.tolist())
    cells = []
    for pos in shown:
        key = str(files[pos])
        if key not in thumbs:
            thumbs[key] = _thumbnail(files[pos])
        name = html.escape(outcome.search.paths[pos])
        img = (f'<img src="{thumbs[key]}" alt="{name}">' if thumbs[key]
               else '<div class="note">(no preview)</div>')
        # In cover mode a group can keep several images, not just its first keeper.
        is_kept = pos in kept_set
        label = "<b>kept</b> " if is_kept else "removed "
        cls = ' class="kept"' if is_kept else ""
        cells.append(f"<figure{cls}>{img}<figcaption>{label}{name}</figcaption></figure>")
    more = len(comp) - len(shown)
    extra = f'<div class="note">+{more} more images in this group</div>' if more else ""
    return (f'<div class="group"><div>{len(comp)} images</div>'
            f'<div class="thumbs">{"".join(cells)}</div>{extra}</div>')


def _projections(outcome: TagOutcome) -> dict[tuple[int, int], np.ndarray]:
    """``(y, x) -> homography`` mapping image y's pixels into image x's."""
    search = outcome.search
    found: dict[tuple[int, int], np.ndarray] = {}
    for a, b, h in zip(search.i.tolist(), search.j.tolist(), search.homography):
        back = invert_homography(h)
        if back is not None:
            found[(a, b)] = h
            found[(b, a)] = back
    return found


def _covered_html(outcome: TagOutcome, files: list[Path], removed: int, coverers: list[int],
                  projections: dict[tuple[int, int], np.ndarray],
                  thumbs: dict[str, str | None]) -> str:
    """A removed image with its coverers' projected outlines, then the coverers."""
    search, selection = outcome.search, outcome.decision.coverage
    shown = coverers[:MAX_THUMBS_PER_GROUP - 1]
    base = _thumbnail_image(files[removed])
    if base is None:
        picture = '<div class="note">(no preview)</div>'
    else:
        canvas = base.convert("RGB")
        draw = ImageDraw.Draw(canvas)
        width, height = search.image_sizes[removed]
        scale = np.array([canvas.width / width, canvas.height / height])
        for colour, y in zip(_OUTLINE_COLOURS, shown):
            quad = warp_outline(projections[(y, removed)], tuple(search.image_sizes[y]))
            if quad is not None:
                draw.polygon([tuple(pt) for pt in (quad * scale).tolist()], outline=colour,
                             width=2)
        picture = f'<img src="{_jpeg_uri(canvas)}" alt="{html.escape(search.paths[removed])}">'
    cells = [f'<figure>{picture}<figcaption>removed {html.escape(search.paths[removed])}, '
             f'{100 * selection.coverage[removed]:.1f}% shown by kept images</figcaption>'
             "</figure>"]
    for colour, y in zip(_OUTLINE_COLOURS, shown):
        key = str(files[y])
        if key not in thumbs:
            thumbs[key] = _thumbnail(files[y])
        name = html.escape(search.paths[y])
        img = (f'<img src="{thumbs[key]}" alt="{name}" style="border-color:{colour}">'
               if thumbs[key] else '<div class="note">(no preview)</div>')
        cells.append(f'<figure class="kept">{img}<figcaption><b>kept</b> {name}</figcaption>'
                     "</figure>")
    return f'<div class="group"><div class="thumbs">{"".join(cells)}</div></div>'


def _coverage_section(outcome: TagOutcome, files: list[Path],
                      thumbs: dict[str, str | None]) -> list[str]:
    selection = outcome.decision.coverage
    s = outcome.summary
    parts = [f'<h3>Removed images and the kept images that cover them</h3>'
             f'<p>An image is removed only if the kept images, projected through the '
             f'verified homographies, show at least {100 * selection.min_coverage:.0f}% of '
             f'it. Estimated surface retained: {100 * s["estimated_coverage_retained"]:.1f}%'
             f'; the pairwise rule would have removed {s["n_pairwise_removed"]} images; '
             f'{s["n_doubtful_pairs"]} pairs with disagreeing geometry were not used.</p>']
    projections = _projections(outcome)
    removed = sorted(selection.coverers)
    for x in removed[:MAX_GROUPS]:
        parts.append(_covered_html(outcome, files, x, selection.coverers[x], projections,
                                   thumbs))
    if len(removed) > MAX_GROUPS:
        parts.append(f'<p class="note">{len(removed) - MAX_GROUPS} more removed images not '
                     f'shown; see {html.escape(outcome.tag)}/remove.txt.</p>')
    return parts


def _tag_section(outcome: TagOutcome, files: list[Path], thumbs: dict[str, str | None]
                 ) -> str:
    s = outcome.summary
    png = histogram_png(outcome.search.histogram, s["threshold"],
                        f"{outcome.tag}: {s['histogram_source'].replace('_', ' ')}",
                        s["thresholds"],
                        xlabel=("disagreeing shared cells (%; 100: overlap below min_overlap)"
                                if s["histogram_source"] == HISTOGRAM_SOURCE else "Hamming distance"))
    rule = (f'duplicate iff verified overlap &ge; {s["min_overlap"]}; '
            f'{s["n_unverifiable"]} of {s["n_verified"]} verified pairs unverifiable'
            if s.get("verified") else "duplicate iff distance &le; T")
    parts = [f'<h2 id="{html.escape(outcome.tag)}">{html.escape(outcome.tag)}</h2>',
             f'<p>threshold T = {s["threshold"]} ({s["threshold_mode"]}; {rule}), '
             f'{s["n_duplicate_pairs"]} duplicate pairs of '
             f'{s["n_candidate_pairs"]} candidates, {s["n_groups"]} duplicate groups, '
             f'{s["n_removed"]} removed ({100 * s["dedup_rate"]:.1f}%), keep policy '
             f'<i>{html.escape(s["keep_policy"])}</i> ({html.escape(s["keep_mode"])}).</p>',
             f'<img alt="distance histogram of {html.escape(outcome.tag)}" '
             f'src="{_data_uri(png, "image/png")}">']
    if len(s["thresholds"]) > 1:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                       for k, v in s["thresholds"].items())
        parts.append(f"<table><tr><th>group</th><th>T</th></tr>{rows}</table>")
    decision = outcome.decision
    if decision.coverage is not None:
        parts += _coverage_section(outcome, files, thumbs)
        return "\n".join(parts)
    for comp, kept in list(zip(decision.components, decision.keepers))[:MAX_GROUPS]:
        parts.append(_group_html(outcome, files, comp, kept, thumbs))
    hidden = len(decision.components) - MAX_GROUPS
    if hidden > 0:
        parts.append(f'<p class="note">{hidden} more duplicate groups not shown; '
                     f'see {html.escape(outcome.tag)}/remove.txt.</p>')
    return "\n".join(parts)


def write_report(run: DedupRun, path: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` for a finished run (default ``run.out / "report.html"``).

    Returns
    -------
    pathlib.Path
        The report path.
    """
    path = Path(run.out / "report.html" if path is None else path)
    files = list(run.encoded.ok_paths)
    thumbs: dict[str, str | None] = {}
    header = "".join(f"<th>{html.escape(c)}</th>" for c in
                     ("tag", "threshold", "duplicate pairs", "groups", "removed",
                      "dedup rate", "encode s", "search s"))
    rows = "".join(
        f'<tr><td><a href="#{html.escape(r["tag"])}">{html.escape(r["tag"])}</a></td>'
        f'<td>{r["threshold"]}</td><td>{r["n_duplicate_pairs"]}</td><td>{r["n_groups"]}</td>'
        f'<td>{r["n_removed"]}</td><td>{100 * r["dedup_rate"]:.1f}%</td>'
        f'<td>{r["encode_s"]:.2f}</td><td>{r["search_s"]:.3f}</td></tr>'
        for r in run_rows(run))
    unreadable = run.encoded.unreadable
    bad = ""
    if unreadable:
        items = "".join(
            f"<li>{html.escape(relative_posix(p, run.root))}: {html.escape(reason)}</li>"
            for p, reason in unreadable)
        bad = f"<h2>Unreadable files ({len(unreadable)})</h2><ul>{items}</ul>"
    sections = "\n".join(_tag_section(o, files, thumbs) for o in run.outcomes.values())
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>Deduplication report</title><style>{_CSS}</style></head><body>"
            f"<h1>Deduplication report</h1>"
            f'<p>Input: {html.escape(str(run.root))} &mdash; {run.n_images} images, '
            f"{len(unreadable)} unreadable.</p>"
            f"<table><tr>{header}</tr>{rows}</table>{bad}\n{sections}</body></html>\n")
    return atomic_write_text(path, page)
