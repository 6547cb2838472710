"""Tests for the results layer (gradgroup.results, gradgroup-table, notebooks/tradeoffs.ipynb).

The fixture tree tests/fixtures/metrics/ holds fabricated metrics.json files shaped like a Hydra multirun:
ERFNet (2 seeds), D*, DG4* (3 seeds, one nested deeper), DG4S*, a Table 4 row, an ablation with three
arms, a failed job; tests/fixtures/metrics/corrupt/ adds an unreadable file. tests/fixtures/latency.json is
what `gradgroup-bench --sweep DIR` writes to DIR/latency.json; MEASURED is `records.load_latency`'s view of
such a file for the Table 3 rows. Expected numbers below are computed by hand from those files.
"""

import ast
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from gradgroup.cli import table as table_cli
from gradgroup.errors import GradgroupError
from gradgroup.results import pareto, records, table

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SWEEP, CORRUPT = FIX / "metrics" / "sweep", FIX / "metrics" / "corrupt"
BENCH = json.loads((FIX / "latency.json").read_text())
MEASURED = {"table3/erfnet": {"ms": 31.0}, "table3/dg4": {"ms": 13.0}, "table3/dstar": {"ms": 15.0},
            "table3/dg4s": {"ms": 12.5}}


def rows_of(*dirs, latency=MEASURED, **budget):
    return table.make_table(records.load_runs(dirs), latency=latency, **budget)


def by_key(rows, experiment, arm=""):
    (row,) = [r for r in rows if r["experiment"] == experiment and r["arm"] == arm]
    return row


def write_run(path: Path, **fields):
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.json").write_text(json.dumps(fields))


def test_seeds_are_aggregated_mean_and_sample_std():
    rows, _, _ = rows_of(SWEEP)
    dg4 = by_key(rows, "table3/dg4")
    assert dg4["n"] == 3 and dg4["seeds"] == "0;1;2"  # the nested seed-1 run dir was found
    assert dg4["miou"] == pytest.approx((41.0 + 42.0 + 43.5) / 3)
    assert dg4["miou_std"] == pytest.approx(1.258306, abs=1e-6)  # sample std (n-1), by hand
    assert dg4["latency_ms"] == pytest.approx(13.0)  # measured once per experiment (latency.json), not per seed
    assert dg4["speedup_vs_erfnet"] == pytest.approx(31.0 / 13.0)
    runs = [json.loads(p.read_text()) for p in SWEEP.rglob("metrics.json")]
    roads = [r["class_iou"]["road"] for r in runs if r.get("experiment") == "table3/dg4"]
    assert dg4["iou_road"] == pytest.approx(statistics.fmean(roads))
    erf = by_key(rows, "table3/erfnet")
    assert (erf["n"], erf["miou"], erf["miou_std"]) == (2, pytest.approx(51.0), pytest.approx(2 ** 0.5))
    assert by_key(rows, "table3/dstar")["miou_std"] is None  # one seed: no spread to report


def test_ablation_arms_are_separate_rows():
    rows, md, _ = rows_of(SWEEP)
    got = {r["arm"]: (r["n"], r["miou"]) for r in rows if r["experiment"] == "ablation/gradual_dg4"}
    assert got == {"dense": (1, 46.0), "direct": (2, 39.5), "gradual": (2, 43.0)}
    assert "| DG4* ablation [gradual] | ablation/gradual_dg4 | 2 | 43.00 ± 0.71 |" in md


def test_failed_and_corrupt_jobs_are_listed_not_fatal():
    rows, md, _ = rows_of(SWEEP, CORRUPT)
    failed = [r for r in rows if r["status"] == "failed"]
    assert rows[-len(failed):] == failed  # failures sit below the results
    errors = sorted(r["error"] for r in failed)
    assert errors[0] == "ValueError: group count 3 does not divide 64 channels (model.encoder.groups)"
    assert errors[1].startswith("unreadable metrics.json: ") and "0_broken" in errors[1]
    assert "Traceback" not in md  # only the first line of the error
    assert by_key(rows, "table3/dstar")["n"] == 2  # the good run beside the corrupt one still counts


def test_minimal_and_odd_runs_do_not_crash(tmp_path):
    write_run(tmp_path / "a", status="failed")  # nothing else: crashed before writing anything
    write_run(tmp_path / "b", status="ok", experiment="x", miou=None)  # "ok" without a number
    write_run(tmp_path / "c", status="ok", experiment="y", miou=50.0, params="n/a", paper=[1])  # breaks the contract
    write_run(tmp_path / "e", status="ok", experiment="z", miou=50.0)  # params not recorded
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "metrics.json").write_text("[1, 2]")  # valid JSON, wrong shape
    rows, md, _ = rows_of(tmp_path)
    assert [r["status"] for r in rows] == ["ok", "failed", "failed", "failed", "failed"]
    assert "status ok but no mIoU recorded" in md and "metrics.json is not a JSON object" in md
    assert "invalid metrics.json:" in md and "key 'params' is 'n/a'" in md  # the row names the bad key
    assert rows[0]["params"] is None
    pareto.plot_pareto(rows, tmp_path / "p.png")


def test_paper_columns_and_gmacs_header():
    rows, md, _ = rows_of(SWEEP)
    dg4 = by_key(rows, "table3/dg4")
    assert (dg4["paper_miou"], dg4["paper_params"], dg4["paper_gmacs"]) == (61.42, 319792, 7.98)
    assert by_key(rows, "ablation/gradual_dg4", "gradual")["paper_miou"] is None
    assert "| DG4* | table3/dg4 | 3 | 42.17 ± 1.26 | [39.04, 45.29] | 61.42 | 345,535 | 319,792 | 9.581 | 7.980 |" in md
    assert "GMACs @ 1024x512 (exact)" in md.splitlines()[0]
    # Rows read like the paper: ERFNet first, most expensive first within a table.
    assert [r["label"] for r in rows[:4]] == ["ERFNet", "D*", "DG4*", "DG4S*"]


def test_mixed_conventions_are_not_hidden(tmp_path):
    common = dict(status="ok", miou=40.0, gmacs=5.0, input_hw=[512, 1024])
    write_run(tmp_path / "a", experiment="a", gmacs_convention="exact", **common)
    write_run(tmp_path / "b", experiment="b", gmacs_convention="paper", **common)
    _, md, _ = rows_of(tmp_path)
    assert "GMACs (mixed resolution/convention" in md


@pytest.mark.parametrize("budget, best, fits", [
    (dict(budget_gmacs=10), "table3/dg4s", {"table3/dg4": "yes", "table3/erfnet": "no"}),
    (dict(budget_gmacs=5), "table4/dg4_proposed", {"table3/dg4s": "no"}),
    (dict(budget_gmacs=9.581), "table3/dg4s", {"table3/dstar": "no"}),  # the bound is inclusive
    (dict(budget_ms=15), "table3/dstar", {"table3/dg4": "yes", "table4/dg4_proposed": "no"}),
    (dict(budget_gmacs=10, budget_ms=12.9), "table3/dg4s", {"table3/dstar": "no", "table3/dg4": "no"}),
    (dict(budget_ms=13.0), "table3/dg4s", {"table3/dg4": "yes"}),  # the bound is inclusive
])
def test_budget_selection(budget, best, fits):
    rows, md, line = rows_of(SWEEP, **budget)
    (chosen,) = [r for r in rows if r["fits_budget"] == "best"]
    assert chosen["experiment"] == best
    assert line.startswith("Best within budget (") and f"({best}) mIoU" in line and "\n" not in line
    assert {e: by_key(rows, e)["fits_budget"] for e in fits} == fits
    assert "| ★ best |" in next(l for l in md.splitlines() if f"| {best} |" in l)


def test_budget_nothing_fits():
    rows, md, line = rows_of(SWEEP, budget_gmacs=1.0)
    assert line == "Nothing fits the budget (GMACs <= 1)." and "best" not in {r["fits_budget"] for r in rows}
    write_dir = FIX / "metrics" / "sweep" / "table4"  # the only row without any latency
    _, _, line = rows_of(write_dir, budget_ms=100)
    assert line.startswith("Nothing fits the budget (latency <= 100 ms): no latency measured")


def test_measured_latency_overrides_and_computes_speedup():
    measured = {"table3/erfnet": {"ms": 40.0, "ratio_vs_erfnet": 1.0}, "table4/dg4_proposed": {"ms": 8.0},
                "table3/dg4": {"ms": 13.0}, "table3/dg3": {"ms": 1.0}}  # a failed experiment's latency is not shown
    rows, _, _ = rows_of(SWEEP, CORRUPT, latency=measured)
    assert by_key(rows, "table4/dg4_proposed")["speedup_vs_erfnet"] == pytest.approx(5.0)
    assert by_key(rows, "table3/dg4")["speedup_vs_erfnet"] == pytest.approx(40.0 / 13.0)
    assert next(r for r in rows if r["experiment"] == "table3/dg3")["latency_ms"] == ""
    # The benchmark's ratio (latency / ERFNet's, timed side by side) gives the speedup when it has one.
    rows, _, _ = rows_of(SWEEP / "table4", latency={"table4/dg4_proposed": {"ms": 8.0, "ratio_vs_erfnet": 0.25}})
    assert rows[0]["speedup_vs_erfnet"] == pytest.approx(4.0)
    # latency.json's shape: per-backend, per-resolution dicts ("WxH") and a "_meta" entry shown under the table.
    rows, md, _ = rows_of(SWEEP, latency=BENCH)
    dg4 = by_key(rows, "table3/dg4")
    assert (dg4["latency_ms"], dg4["speedup_vs_erfnet"]) == (20.0, 2.0)  # the 1024x512 entry
    assert by_key(rows, "table3/dstar")["latency_ms"] is None  # not benchmarked: no latency, no speedup
    assert by_key(rows, "table3/dstar")["speedup_vs_erfnet"] is None
    assert ("Latency: backend eager, measured by gradgroup-bench (test CPU, 4 threads, batch 1, labels output, "
            "median of 5 interleaved rounds, torch 2.13.0+cpu)") in md
    rows, md, _ = rows_of(SWEEP, latency=None)
    assert by_key(rows, "table3/dg4")["latency_ms"] is None and "Latency:" not in md


def sweep_copy(tmp_path, latency_text=None):
    sweep = tmp_path / "sweep"
    shutil.copytree(SWEEP, sweep)
    if latency_text is not None:
        (sweep / "latency.json").write_text(latency_text)
    return sweep


def test_cli_reads_latency_json_of_the_sweep(tmp_path, capsys):
    sweep = sweep_copy(tmp_path, (FIX / "latency.json").read_text())
    assert table_cli.main([str(sweep), "--budget-ms", "10", "--wandb", "disabled", "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert "note: no latency.json" not in out
    assert "| DG4* | table3/dg4 | 3 | 42.17 ± 1.26 | [39.04, 45.29] | 61.42 | 345,535 | 319,792 | 9.581 | 7.980 | 20.00 | 2.00x |" \
        in out
    assert "Latency: backend eager, measured by gradgroup-bench (test CPU, 4 threads" in out
    assert "Best within budget (latency <= 10 ms): DG4*-proposed (table4/dg4_proposed)" in out
    with open(sweep / "results.csv", newline="") as fh:
        assert next(r for r in csv.DictReader(fh) if r["experiment"] == "table3/dg4")["latency_ms"] == "20"
    # --no-latency ignores the file: no latency column values, and no note.
    assert table_cli.main([str(sweep), "--no-latency", "--wandb", "disabled", "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert "| 9.581 | 7.980 |  |  |" in out and "Latency:" not in out and "note:" not in out


def test_cli_without_latency_json_says_how_to_add_it(tmp_path, capsys):
    assert table_cli.main([str(SWEEP), str(CORRUPT), "--out", str(tmp_path), "--wandb", "disabled"]) == 1  # failed jobs
    out = capsys.readouterr().out
    for d in (SWEEP, CORRUPT):
        assert out.count(f"note: no latency.json in {d}; run gradgroup-bench --sweep {d} to add measured "
                         "latency") == 1
    # A broken file costs the latency column, not the table.
    sweep = sweep_copy(tmp_path, '{"table3/dg4": {"ms": ')
    assert table_cli.main([str(sweep), "--wandb", "disabled", "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert "note: ignoring unreadable" in out and "| 9.581 | 7.980 |  |  |" in out


def test_load_latency_merges_sweeps(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "latency.json").write_text(json.dumps(BENCH))
    (b / "latency.json").write_text(json.dumps({"by_backend": {"eager": {"table3/dg4": {"ms": 1.0}}},
                                                "_meta": {"device": "gpu", "fastest_fp32": "eager"}}))
    measured, notes = records.load_latency([a, b])
    assert measured["table3/dg4"] == {"ms": 1.0}
    assert measured["table3/erfnet"] == BENCH["by_backend"]["eager"]["table3/erfnet"]
    assert measured["_meta"] == {**BENCH["_meta"], "matmul_gflops": None, "backend": "eager"}
    assert len(notes) == 1 and "different settings" in notes[0]
    # A file in another shape (the single-backend one before by_backend) costs its latency, with a note.
    (b / "latency.json").write_text(json.dumps({"table3/dg4": {"ms": {"512x1024": 1.0}}}))
    measured, notes = records.load_latency([b])
    assert "table3/dg4" not in measured and "not what gradgroup-bench --sweep writes" in notes[0]


def test_load_runs_needs_a_sweep_dir(tmp_path):
    with pytest.raises(GradgroupError, match="does not exist"):
        records.load_runs([tmp_path / "nope"])
    runs = records.load_runs([SWEEP / "table4"])
    assert len(runs) == 1 and runs[0]["_path"].endswith("metrics.json")


def test_results_layer_is_light():
    """results/ reads files only: no training/models/measure/data imports (errors and common/ are the
    ground floor), and the CLIs load no torch."""
    for path in (ROOT / "src" / "gradgroup" / "results").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = "." * node.level + (node.module or "")
                assert not any(part in mod.split(".") for part in ("training", "models", "measure", "data")), \
                    f"{path.name} imports {mod}"
                assert node.level <= 1 or mod.startswith(("..errors", "..common")), f"{path.name} imports {mod}"
    code = ("import sys, gradgroup.cli.table, gradgroup.cli.ablation; "
            "print(sorted(m for m in ('torch', 'lightning', 'pytorch_lightning', 'matplotlib', 'wandb') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_pareto_front():
    pts = [(1, 5), (2, 4), (2, 6), (3, 4), (4, 1), (0.5, 9)]
    assert pareto.pareto_front(pts) == [5, 0, 1, 4]


def test_cli_end_to_end(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "gradgroup.cli.table", str(SWEEP), str(CORRUPT), "--out", str(out),
           "--budget-gmacs", "10", "--no-latency", "--wandb", "disabled"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr  # the sweeps hold failed jobs: listed, and the exit status says so
    assert res.stdout.count("Best within budget (GMACs <= 10): DG4S* (table3/dg4s) mIoU 44.00, 9.581 GMACs\n") == 1
    assert "| label | experiment | n | mIoU (%) |" in res.stdout
    with open(out / "results.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0])[:len(table.FIELDS)] == table.FIELDS and "iou_traffic_light" in got[0]
    assert len(got) == 10 and sum(r["status"] == "failed" for r in got) == 2
    dg4 = next(r for r in got if r["experiment"] == "table3/dg4")
    assert (dg4["miou"], dg4["miou_std"], dg4["paper_miou"], dg4["fits_budget"]) == ("42.1667", "1.2583",
                                                                                       "61.42", "yes")
    md = (out / "results.md").read_text(encoding="utf-8")
    assert md.startswith("# Results\n\nBest within budget") and "| fits budget |" in md
    check_png(out / "pareto.png")


def check_png(path):
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 1000 and im.height > 400
        rgb = im.convert("RGB")
        assert len(rgb.getcolors(maxcolors=1 << 20)) > 50  # not blank: series, labels, front
        # The series colours appear (matplotlib's C0 blue and C1 orange), not only black on white.
        colors = {c for _, c in rgb.getcolors(maxcolors=1 << 20)}
        assert (31, 119, 180) in colors and (255, 127, 14) in colors


def test_no_latency_panel_says_so(tmp_path):
    rows, _, _ = rows_of(SWEEP / "ablation")
    fig = pareto.plot_pareto(rows, tmp_path / "p.png")
    assert [t.get_text() for t in fig.axes[1].texts] == ["no latency measured"]
    assert "GMACs @ 1024x512 (exact)" in fig.axes[0].get_xlabel()
    assert any(l.get_text() == "Pareto front" for l in fig.legends[0].get_texts())
    # The front is the attainment staircase: from each point right at its error, then down.
    (front,) = [l for l in fig.axes[0].lines if l.get_label() == "Pareto front"]
    assert front.get_drawstyle() == "steps-post"
    xs, ys = front.get_data()
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys, reverse=True) and len(xs) == 2


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_bad_sweep_dir_exits_2(tmp_path, setup):
    bad = tmp_path / "nope"
    if setup == "empty":
        bad.mkdir()
    res = subprocess.run([sys.executable, "-m", "gradgroup.cli.table", str(bad), "--wandb", "disabled"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and str(bad) in res.stderr and "Traceback" not in res.stderr


def test_committed_fixture_results_are_current(tmp_path):
    """notebooks/ reads tests/fixtures/table_results/; regenerate it with the command in its README line."""
    # Regenerate: gradgroup-table tests/fixtures/metrics/sweep --out tests/fixtures/table_results
    #             --no-latency --wandb disabled   (then delete the pareto.png it writes)
    assert table_cli.main([str(SWEEP), "--out", str(tmp_path), "--no-latency", "--wandb", "disabled",
                          "--allow-failed"]) == 0
    for name in ["results.csv", "results.md"]:
        assert (tmp_path / name).read_text() == (FIX / "table_results" / name).read_text(), name


def test_wandb_offline_logs_table_and_image(tmp_path):
    assert table_cli.main([str(SWEEP), "--out", str(tmp_path), "--no-latency", "--wandb", "offline",
                          "--allow-failed"]) == 0
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    media = {p.suffixes[-2:] == [".table", ".json"] or p.suffix for p in (run / "files" / "media").rglob("*.*")}
    assert True in media and ".png" in media


def test_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager

    assert "python3" in KernelSpecManager().find_kernel_specs()  # ipykernel's native spec in the venv
    nb_path = ROOT / "notebooks" / "tradeoffs.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    # Committed executed (make notebook-commit), so GitHub shows its plots, and small; run here afresh.
    shown = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum("image/png" in o.get("data", {}) for o in shown) >= 2 and nb_path.stat().st_size < 1_000_000
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # Two files: the committed fixture (relative, resolved from the repo root) and a fresh table.
    assert table_cli.main([str(SWEEP / "table3"), "--out", str(tmp_path), "--no-latency", "--wandb", "disabled",
                          "--allow-failed"]) == 0
    monkeypatch.setenv("GRADGROUP_RESULTS", os.pathsep.join(["tests/fixtures/table_results/results.csv",
                                                             str(tmp_path / "results.csv")]))
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    assert "14 rows (2 failed) from 2 file(s)" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # trade-off and per-class plots
