"""The table of a sweep that did not finish (issue 19, item 5): every planned job is listed, those that never
started too (from the sweep's multirun.yaml), a killed row says how old its heartbeat is in words, and a
failed row keeps the overrides that tell it from its experiment's other rows."""
import socket
import subprocess
import sys
import time

from gradgroup.cli.table import main
from gradgroup.results.table import make_table
from gradgroup.jobs.record import write_record

PLANNED = ["experiment=table3/dg2,table3/dg4,table3/d,table3/dg8", "preset=smoke", "threads=1"]
MULTIRUN = """hydra:
  sweeper:
    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper
    max_batch_size: null
    params: null
  overrides:
    hydra: []
    task: [{task}]
"""


def _record(exp, status, **extra):
    return {"status": status, "experiment": exp, "label": exp.split("/")[1].upper(), "table": "table3", "seed": 0,
            "miou": 40.0, "params": 10, "gmacs": 1.0, "overrides": [f"experiment={exp}", "preset=smoke", "threads=1"],
            **extra}


def test_a_killed_sweeps_table_lists_every_planned_job(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(MULTIRUN.format(task=", ".join(f"'{t}'" for t in PLANNED)))
    write_record(sweep / "0", _record("table3/dg2", "ok"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_record(sweep / "1", _record("table3/dg4", "running", miou=None, pid=gone.pid, host=socket.gethostname(),
                                      heartbeat=time.time() - 12 * 60))
    assert main([str(sweep), "--no-latency", "--wandb", "disabled"]) == 1
    out = capsys.readouterr().out
    md = (sweep / "results.md").read_text()
    assert "last heartbeat 12 min ago" in md
    for exp in ("table3/d", "table3/dg8"):
        row = next(line for line in md.splitlines() if f"| {exp} |" in line)
        assert row.rstrip(" |").endswith("not started: the sweep ended before this job ran"), row
    assert "4 jobs (1 ok, 2 not started, 1 killed)" in out, out


def test_failed_rows_keep_their_override_suffix():
    ok = _record("table3/dg4", "ok")
    ok["overrides"] = ok["overrides"] + ["model.encoder.groups=4"]
    failed = _record("table3/dg4", "failed", error="ConfigError: groups=3 does not divide 64 channels")
    failed["overrides"] = failed["overrides"] + ["model.encoder.groups=3"]
    rows, md, _ = make_table([ok, failed])
    assert [r["label"] for r in rows] == ["DG4 [model.encoder.groups=4]", "DG4 [model.encoder.groups=3]"]
    assert "| DG4 [model.encoder.groups=3] |" in md


def test_an_override_holding_an_interpolation_is_matched_as_the_job_wrote_it(tmp_path, monkeypatch):
    """multirun.yaml is read unresolved: `x=${oc.env:...}` is what the sweeper parsed and the record keeps."""
    from gradgroup.results.records import load_runs
    from gradgroup.results.sweep_jobs import never_started

    monkeypatch.setenv("WANDB_MODE", "disabled")
    task = ["experiment=table3/dg2", "preset=smoke", "threads=1", "logger.wandb.mode=${oc.env:WANDB_MODE,offline}"]
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(MULTIRUN.format(task=", ".join(f"'{t}'" for t in task)))
    write_record(sweep / "0", {**_record("table3/dg2", "ok"), "overrides": task})
    assert never_started(sweep, load_runs([sweep])) == []
