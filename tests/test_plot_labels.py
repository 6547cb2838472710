"""Labels on the Pareto plots: close points get labels that do not cover each other or run off the axes,
and the search plot's interval stops at 0 mIoU (results/plot_labels.py, results/search_plot.py)."""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gradgroup.results.plot_labels import place_labels
from gradgroup.results.search_plot import plot_search


def _boxes(fig, artists):
    renderer = fig.canvas.get_renderer()
    return [a.get_window_extent(renderer) for a in artists]


def test_labels_of_bunched_points_do_not_overlap_and_stay_inside_the_axes():
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    pts = [(22.0, 60.0, "D*-proposed"), (22.3, 60.1, "DG2*"), (22.6, 59.9, "D*"), (22.1, 60.05, "DG4S|D|DG2+light"),
           (50.0, 70.0, "ERFNet at the right edge")]
    ax.scatter([p[0] for p in pts], [p[1] for p in pts])
    ax.set_xlim(20, 50.5)
    arts = place_labels(ax, pts)
    fig.canvas.draw()
    boxes = _boxes(fig, arts)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)


def test_the_searchs_intervals_are_clipped_to_the_range_of_miou():
    rows = [{"label": "DG4*-proposed", "source": "paper", "front": False, "mean": 1.0, "ci_low": -10.0,
             "ci_high": 12.0, "latency_ms": 40.0, "gmacs": 4.4}]
    fig = plot_search([], rows)
    ax = fig.axes[0]
    bars = [c for c in ax.collections if hasattr(c, "get_segments")]
    ys = [y for c in bars for seg in c.get_segments() for _, y in seg]
    assert min(ys) == 0.0 and max(ys) == 12.0
