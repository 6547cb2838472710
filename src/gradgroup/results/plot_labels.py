"""Point labels that do not cover each other: a greedy placement for the Pareto plots.

Points on an accuracy-vs-cost plot bunch up (D*, D*-proposed and DG2* sit within a few ms of each other),
and labels all written up and to the right of their point then print over one another. Each label here
tries a short list of offsets around its point, in order, and takes the first whose box (the text's size
as the renderer measures it, in display pixels) overlaps neither a label already placed nor a plotted
point and stays inside the axes; when none is free it takes the candidate with the least overlap.
Deterministic, so a plot is the same on every run; no dependency beyond matplotlib.
"""
from __future__ import annotations

# Offsets in points from the anchor, with the text's alignment: right/above first, as before, then the
# other corners, then further out above and below, a line at a time.
_CANDIDATES = [((dx, dy), "left" if dx > 0 else "right", "bottom" if dy > 0 else "top")
               for rise in (5, 16, 27, 38, 49) for dy in (rise, -rise) for dx in (6, -6)]


def _box(x: float, y: float, dx: float, dy: float, ha: str, va: str, w: float, h: float):
    left = x + dx - (w if ha == "right" else 0)
    bottom = y + dy - (h if va == "top" else 0)
    return left, bottom, left + w, bottom + h


def _overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place_labels(ax, items: list[tuple[float, float, str]], fontsize: float = 7, **text_kw) -> list:
    """Annotate each (x, y, text) in data coordinates on `ax` without overlaps where the room allows;
    returns the Annotation artists. Call after everything is plotted, so the axes limits are final."""
    ax.autoscale_view()
    fig = ax.get_figure()
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0                       # points -> display pixels
    anchors = [ax.transData.transform((x, y)) for x, y, _ in items]
    dots = [(ax_ - 4 * px, ay - 4 * px, ax_ + 4 * px, ay + 4 * px) for ax_, ay in anchors]
    frame = ax.bbox.extents                    # a label reaching past the axes counts as covering something
    placed, artists = [], []
    for (x, y, text), (X, Y) in sorted(zip(items, anchors), key=lambda p: (p[1][0], p[1][1])):
        art = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize, **text_kw)
        extent = art.get_window_extent(renderer)          # the text's real size, measured once
        w, hh = extent.width + 2, extent.height + 2
        scored = []
        for (dx, dy), ha, va in _CANDIDATES:
            box = _box(X, Y, dx * px, dy * px, ha, va, w, hh)
            cost = sum(_overlap(box, o) for o in placed) + sum(_overlap(box, d) for d in dots) + \
                (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, frame)
            scored.append((cost, box, (dx, dy), ha, va))
            if cost == 0:
                break
        cost, box, offset, ha, va = min(scored, key=lambda s: s[0])
        placed.append(box)
        art.xyann = offset
        art.set_horizontalalignment(ha), art.set_verticalalignment(va)
        artists.append(art)
    return artists
