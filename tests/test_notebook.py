"""`make notebook`'s command on a sweep dir (table, Pareto plot, per-class IoU, val mIoU/alpha curves from the
runs' CSV logs, as HTML), and the Pareto plot's one colour per family."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradgroup.cli import table as table_cli
from gradgroup.results import pareto

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "tests" / "fixtures" / "metrics" / "sweep" / "table3"


def _csv_log(run_dir: Path, epochs: int, gradual: bool) -> None:
    """A Lightning CSVLogger file as a run writes it: step rows with train/loss_step, epoch rows with val/miou
    (and grouping/alpha for a gradual run)."""
    (run_dir / "csv").mkdir(parents=True)
    cols = ["epoch", "step", "train/loss_step", "val/miou", "grouping/alpha"]
    with open(run_dir / "csv" / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        for e in range(epochs):
            w.writerow({"epoch": e, "step": 10 * e + 9, "train/loss_step": 2.0 - 0.1 * e})
            w.writerow({"epoch": e, "step": 10 * e + 9, "val/miou": 10 + 3 * e,
                        "grouping/alpha": max(0.0, 1 - e / 2) if gradual else ""})


@pytest.mark.skipif(shutil.which("jupyter", path=str(Path(sys.executable).parent)) is None,
                    reason="the dev extras (nbconvert) are not installed")
def test_make_notebook_command_writes_an_html_report_with_training_curves(tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(SWEEP, sweep)
    runs = sorted(p.parent for p in sweep.rglob("metrics.json"))
    for i, run in enumerate(runs[:3]):
        _csv_log(run, epochs=4, gradual=i == 2)
    assert table_cli.main([str(sweep), "--no-latency", "--wandb", "disabled", "--allow-failed"]) == 0
    # The Makefile's command, with the sweep handed over as it does it.
    env = {**os.environ, "GRADGROUP_SWEEP": str(sweep)}
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--execute", "--to", "html",
                           str(ROOT / "notebooks" / "tradeoffs.ipynb"), "--output-dir", str(sweep),
                           "--output", "tradeoffs"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (sweep / "tradeoffs.html").read_text(encoding="utf-8")
    assert html.count('<img alt="No description') == 3  # Pareto plot, per-class IoU, val mIoU / alpha curves
    assert "Training curves" in html and "DG4" in html


def test_pareto_gives_each_family_its_own_colour():
    """D* is filed under the DGC* family (its G = 1 point) but is not grouped: it gets its own colour."""
    rows = [{"status": "ok", "label": label, "family": family, "arm": arm, "miou": miou, "gmacs": gmacs}
            for label, family, arm, miou, gmacs in [("ERFNet", "ERFNet", "", 33.0, 26.6), ("D*", "DGC*", "", 33.2, 9.5),
                                                    ("DG4*", "DGC*", "", 29.4, 6.9),
                                                    ("DG4*", "DGC*", "gradual", 31.3, 6.9)]]
    fig = pareto.plot_pareto(rows)
    handles, labels = fig.axes[0].get_legend_handles_labels()  # errorbar containers, one per series
    series = {label: h.lines[0].get_color() for h, label in zip(handles, labels) if label != "Pareto front"}
    assert set(series) == {"ERFNet", "D*", "DGC*", "DGC* [gradual]"}
    assert len(set(series.values())) == 4, series
