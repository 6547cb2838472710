"""wandb as a sweep user reads it (issue 26), checked on what wandb wrote offline (tests/wandb_files.py):
one group per sweep shared by a study's parts and its summary run, names from what varies, one run id
per run dir across a SIGKILL and resume, the record's `wandb` field, summary keys, masked media, the
summary run's table rows equal to results.csv, the environment as the default of `logger.wandb.*`."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradgroup.common.wandb_names import run_id, run_name, summary_target, sweep_group
from gradgroup.config.checks import check_wandb_settings
from gradgroup.errors import ConfigError
from helpers import compose_cfg, run_cli
from wandb_files import offline_runs

FIXTURES = Path(__file__).parent / "fixtures"
STAMP = "2026-12-07_10-00-00-123456789"


# ----------------------------------------------------------------------------- names, without wandb
def test_a_study_and_its_parts_share_one_group_and_two_studies_never_do(tmp_path):
    study = tmp_path / "multirun" / "study" / STAMP
    assert sweep_group(study / "primary") == (f"study-{STAMP}", "primary")
    assert sweep_group(study / "dense") == (f"study-{STAMP}", "dense")
    assert sweep_group(study) == (f"study-{STAMP}", None)  # the study's summary run
    later = tmp_path / "multirun" / "study" / "2026-12-07_10-01-00-000000001" / "primary"
    assert sweep_group(later)[0] != sweep_group(study / "primary")[0]
    assert sweep_group(tmp_path / "multirun" / "ablation_gradual" / STAMP / "dense") == (f"ablation_gradual-{STAMP}", "dense")
    a, b = sweep_group(tmp_path / "a" / "mine"), sweep_group(tmp_path / "b" / "mine")  # no timestamp
    assert a[0].startswith("mine-") and a[0] != b[0] and a == sweep_group(tmp_path / "a" / "mine")


def test_run_id_is_a_function_of_the_run_dir(tmp_path):
    (tmp_path / "run").mkdir()
    assert run_id(tmp_path / "run") == run_id(str(tmp_path / "x" / ".." / "run")) != run_id(tmp_path / "other")


def test_names_carry_what_varies_and_the_seed():
    overrides = ["experiment=table3/dg4", "grouping=gradual", "grouping.callback.decay_fraction=0.25", "seed=3",
                 "threads=1"]
    varying = {"grouping.callback.decay_fraction", "seed", "grouping"}
    assert run_name(overrides, varying, 3, "table3/dg4") == "grouping=gradual decay_fraction=0.25 seed3"
    assert run_name(overrides, {"experiment", "seed"}, 3, "x") == "table3/dg4 seed3"
    assert run_name(overrides, {"seed"}, 3, "table3/dg4 gradual") == "table3/dg4 gradual seed3"
    assert len(run_name([f"model.encoder.stages={'x' * 500}"], {"model.encoder.stages"}, 0, "x")) < 60


def test_summary_target_follows_the_jobs_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "envproj")
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    sweep = tmp_path / "study" / STAMP
    assert summary_target([{"wandb": None}], sweep) == {"mode": "offline", "project": "envproj", "entity": None,
                                                        "group": f"study-{STAMP}"}
    jobs = [{"wandb": {"project": "p", "entity": "e", "group": "g"}}] * 2
    assert summary_target(jobs, sweep) == {"mode": "offline", "project": "p", "entity": "e", "group": "g"}
    assert summary_target(jobs, sweep, "disabled", "flagproj")["project"] == "flagproj"


# ----------------------------------------------------------------------------- config
def test_the_environment_is_the_default_and_logger_wandb_wins(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_PROJECT", "envproj")
    monkeypatch.setenv("WANDB_ENTITY", "team")
    wb = compose_cfg(["experiment=table3/dg4"]).logger.wandb  # the quick preset leaves the mode to the env
    assert (str(wb.mode), wb.project, wb.entity) == ("online", "envproj", "team")
    wb = compose_cfg(["experiment=table3/dg4", "logger.wandb.mode=disabled", "logger.wandb.project=mine"]).logger.wandb
    assert (str(wb.mode), wb.project, wb.entity) == ("disabled", "mine", "team")
    monkeypatch.delenv("WANDB_PROJECT")
    monkeypatch.delenv("WANDB_ENTITY")
    monkeypatch.setenv("WANDB_MODE", "sideways")
    cfg = compose_cfg(["experiment=table3/dg4"])
    assert (cfg.logger.wandb.project, cfg.logger.wandb.entity) == ("gradgroup", None)
    with pytest.raises(ConfigError, match="WANDB_MODE='sideways'"):
        check_wandb_settings(cfg)


@pytest.mark.parametrize("override, ok", [
    ("logger.wandb.log_model=true", True), ("logger.wandb.log_model=all", True),
    ("logger.wandb.log_model=false", True), ("logger.wandb.log_model=sometimes", False),
    ("logger.wandb.id=abc_123", True), ("logger.wandb.id=a/b", False),
    ("logger.wandb.notes=hello", True), ("logger.wandb.save_code=true", True),
])
def test_the_logger_keys_users_know_from_lightning(override, ok):
    cfg = compose_cfg(["experiment=table3/dg4", override])
    if ok:
        check_wandb_settings(cfg)
    else:
        with pytest.raises(ConfigError, match=override.split("=")[0]):
            check_wandb_settings(cfg)


# ----------------------------------------------------------------------------- end to end, offline
def _env(data_cache, **extra):
    return {**os.environ, "GRADGROUP_DATA_CACHE": str(data_cache), "WANDB_MODE": "disabled", **extra}


def _record(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_a_sweep_logs_one_group_named_runs_summaries_media_and_a_matching_table(data_cache, tmp_path):
    part = tmp_path / "multirun" / "study" / STAMP / "primary"
    run_cli(["gradgroup.cli.train", "-m", "preset=smoke", "experiment=table3/dg4", "grouping=none,gradual", "seed=3",
             "logger.wandb.mode=offline", "trainer.max_epochs=2", f"hydra.sweep.dir={part}"], data_cache, tmp_path)
    runs = {r.name: r for r in offline_runs(part)}
    assert set(runs) == {"grouping=none seed3", "grouping=gradual seed3"}
    for run in runs.values():
        (record,) = [_record(d) for d in part.glob("*_seed3") if run_id(d) == run.id]
        assert record["wandb"] == {"id": run.id, "project": "gradgroup", "entity": None,
                                   "group": f"study-{STAMP}", "name": run.name}
        assert run.group == f"study-{STAMP}" and run.job_type == "primary"
        assert {"table3", "primary", "dgc", "G4"} <= set(run.tags)
        assert run.summary["gmacs"] == pytest.approx(record["gmacs"]) and run.summary["params"] == record["params"]
        assert run.summary["miou"] == pytest.approx(record["miou"]) and run.summary["status"] == "ok"
        (samples,) = run.logged("val/samples")[-1:]  # logged at the last epoch
        assert samples["_type"] == "images/separated" and samples["count"] == 2
        masks = samples["all_masks"][0]
        assert set(masks) == {"prediction", "ground_truth"}
        labels = run.config["_wandb"]["mask/class_labels"]["val/samples_wandb_delimeter_prediction"]["value"]
        assert labels["0"] == "road" and labels["18"] == "bicycle" and labels["255"] == "ignore"
        assert samples["width"] <= 512 and samples["height"] <= 512
        assert "gradual" in runs["grouping=gradual seed3"].tags

    shutil.copy(FIXTURES / "latency.json", part / "latency.json")  # as gradgroup-bench --sweep leaves it
    env = _env(data_cache, WANDB_MODE="offline")
    for _ in range(2):  # a rerun continues the summary run and adds one summary-only attempt per job
        table = subprocess.run([sys.executable, "-m", "gradgroup.cli.table", str(part)],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert table.returncode == 0, table.stderr[-3000:]
    assert "added to the summaries of 2 job runs" in table.stdout
    first, summary = offline_runs(part / "wandb")
    assert first.id == summary.id  # one summary run per sweep
    assert (summary.group, summary.job_type, summary.project) == (f"study-{STAMP}", "table", "gradgroup")
    (table_file,) = (summary.path / "files" / "media" / "table").glob("results_*.table.json")
    logged = json.loads(table_file.read_text())
    rows = list(csv.DictReader((part / "results.csv").open()))
    assert len(logged["data"]) == len(rows) == 2 and logged["columns"][:len(rows[0])] == list(rows[0])
    col = logged["columns"].index("arm")
    assert [r[col] for r in logged["data"]] == [r["arm"] for r in rows]
    assert {"results", "pareto", "miou_vs_gmacs_table", "miou_vs_latency_table"} <= set(summary.summary)
    # each job's own run: the same id resumed, its summary with the latency and speedup of its table row
    by_arm = {r["arm"]: r for r in rows}
    for run_dir in part.glob("*_seed3"):
        record = _record(run_dir)
        trained, *updates = offline_runs(run_dir / "wandb")
        assert len(updates) == 2 and {u.id for u in updates} == {trained.id} == {record["wandb"]["id"]}
        update = updates[-1]
        assert update.history == [] and update.group == trained.group and update.name == trained.name
        row = by_arm[record["arm"] or ""]
        assert update.summary["latency_ms"] == pytest.approx(float(row["latency_ms"]))
        assert update.summary["speedup_vs_erfnet"] == pytest.approx(float(row["speedup_vs_erfnet"]))
        assert update.summary["latency_backend"] == "eager"
        assert update.summary["gmacs"] == pytest.approx(record["gmacs"]) and update.summary["miou"] == pytest.approx(record["miou"])


def test_a_killed_and_resumed_job_continues_one_wandb_run_and_logs_its_model(data_cache, tmp_path):
    run_dir = tmp_path / "run"
    args = [sys.executable, "-m", "gradgroup.cli.train", "preset=smoke", "experiment=table3/dg4", "grouping=gradual",
            "trainer.max_epochs=3", "logger.wandb.mode=offline", f"hydra.run.dir={run_dir}"]
    (tmp_path / "tmp").mkdir()  # wandb's temp dirs, which a SIGKILL leaves behind (docs/operations.md)
    proc = subprocess.Popen(args, cwd=tmp_path, env=_env(data_cache, TMPDIR=str(tmp_path / "tmp")),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (run_dir / "checkpoints" / "last.ckpt").is_file():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert _record(run_dir)["status"] == "running"  # killed, no chance to write anything else
    last = run_dir / "checkpoints" / "last.ckpt"
    resumed = subprocess.run(args + [f"ckpt_path={last}", "logger.wandb.log_model=true"], cwd=tmp_path, env=_env(data_cache),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    record = _record(run_dir)
    runs = offline_runs(run_dir / "wandb")
    assert len(runs) == 2 and {r.id for r in runs} == {record["wandb"]["id"]} == {run_id(run_dir)}
    assert runs[-1].summary["status"] == "ok" and record["wandb"]["name"] == "table3/dg4 gradual seed0"
    assert ("model-" + run_id(run_dir), "model") in runs[-1].artifacts  # log_model=true: Lightning's checkpoints
    assert ("converted-" + run_id(run_dir), "model") in runs[-1].artifacts  # and the converted grouped model
    files = runs[-1].artifact_files("converted-" + run_id(run_dir))
    assert files == {"converted.pt": (run_dir / "checkpoints" / "converted.pt").stat().st_size}

    exported = subprocess.run([sys.executable, "-m", "gradgroup.cli.export", str(run_dir), "--wandb-artifact"],
                              cwd=tmp_path, env=_env(data_cache, WANDB_MODE="offline"), capture_output=True, text=True,
                              timeout=600)
    assert exported.returncode == 0, exported.stderr[-3000:]
    *_, logged = offline_runs(run_dir / "wandb")
    assert logged.id == record["wandb"]["id"] and ("onnx-" + logged.id, "model") in logged.artifacts
    files = logged.artifact_files("onnx-" + logged.id)
    assert files == {f: (run_dir / "export" / f).stat().st_size for f in ("model.onnx", "model.labels.onnx", "export.json")}


def test_wandb_mode_disabled_from_the_environment_writes_no_wandb_files(data_cache, tmp_path):
    """The schema's default (WANDB_MODE, else offline) restored over the smoke preset's own `disabled`."""
    run_dir = tmp_path / "run"
    run_cli(["gradgroup.cli.train", "preset=smoke", "experiment=table3/dg4", f"hydra.run.dir={run_dir}",
             "logger.wandb.mode=${oc.env:WANDB_MODE,offline}"], data_cache, tmp_path)  # run_cli: WANDB_MODE=disabled
    assert _record(run_dir)["wandb"] is None
    assert not [p for p in tmp_path.rglob("*") if "wandb" in p.name]
    export = run_cli(["gradgroup.cli.export", str(run_dir), "--wandb-artifact"], data_cache, tmp_path, check=False)
    assert export.returncode == 2 and export.stderr.strip().splitlines()[-1] == (
        f"gradgroup-export: error: {run_dir / 'metrics.json'} names no wandb run (the job ran with logger.wandb.mode=disabled, "
        "or has no readable record): export without --wandb-artifact")


def test_the_search_report_logs_its_front_scatter_and_plot(tmp_path):
    """results/wandb_summary.py log_search_wandb, as `gradgroup-search report` calls it, read back offline."""
    rows = [{"label": "A", "source": "search", "words": "dgc G4", "per_seed": {1: 30.0}, "n": 2, "mean": 30.5,
             "params": 1000, "gmacs": 1.5, "latency_ms": 12.0, "speedup": 2.0, "front": True},
            {"label": "DG4*-proposed", "source": "paper", "words": "", "per_seed": {1: 29.0}, "n": 2, "mean": 29.0,
             "params": 900, "gmacs": 1.2, "latency_ms": 13.0, "speedup": 1.8, "front": False}]
    code = ("import json, sys; from pathlib import Path; import matplotlib; matplotlib.use('Agg');"
            "import matplotlib.pyplot as plt; out = Path(sys.argv[1]); plt.plot([0, 1]); plt.savefig(out / 'search_pareto.png');"
            "from gradgroup.results.wandb_summary import log_search_wandb;"
            "target = {'mode': 'offline', 'project': 'p', 'entity': None, 'group': 'search-x'};"
            "print(log_search_wandb(target, out, json.loads(sys.argv[2]), {'search_pareto': out / 'search_pareto.png'}, {}))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), json.dumps(rows)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "WANDB_SILENT": "true"})
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = offline_runs(tmp_path / "wandb")
    assert (run.id, run.group, run.job_type, run.project) == (done.stdout.split()[-1], "search-x", "search", "p")
    assert {"front", "search_pareto", "miou_vs_latency_table"} <= set(run.summary)
    (table,) = (run.path / "files" / "media" / "table").glob("front_*.table.json")
    logged = json.loads(table.read_text())
    assert "per_seed" not in logged["columns"] and len(logged["data"]) == 2
    col = logged["columns"].index("front")
    assert [r[col] for r in logged["data"]] == [True, False]


@pytest.mark.slow
def test_two_studies_a_minute_apart_have_disjoint_groups_and_one_studys_parts_and_summary_share_one(data_cache, tmp_path):
    """The issue's first check, with trained jobs: `make study` names its dir by the time it starts
    (multirun/study/<date +%Y-%m-%d_%H-%M-%S-%N>/<part>); here the two stamps are set a minute apart."""
    study = tmp_path / "multirun" / "study"
    first, later = study / "2026-12-07_10-00-00-000000001", study / "2026-12-07_10-01-00-000000001"
    for part in (first / "primary", first / "dense", later / "primary"):
        run_cli(["gradgroup.cli.train", "-m", "preset=smoke", "experiment=table3/dg4", "grouping=gradual", "seed=0",
                 "logger.wandb.mode=offline", f"hydra.sweep.dir={part}"], data_cache, tmp_path)
    table = subprocess.run([sys.executable, "-m", "gradgroup.cli.table", str(first), "--no-latency"], cwd=tmp_path,
                           env=_env(data_cache, WANDB_MODE="offline"), capture_output=True, text=True, timeout=600)
    assert table.returncode == 0, table.stderr[-3000:]
    groups = {part: {r.group for r in offline_runs(part)} for part in (first / "primary", first / "dense", later / "primary")}
    (summary,) = offline_runs(first / "wandb")
    assert groups[first / "primary"] == groups[first / "dense"] == {summary.group} == {sweep_group(first)[0]}
    assert groups[later / "primary"] == {sweep_group(later)[0]} and groups[later / "primary"].isdisjoint(groups[first / "primary"])


def test_gradgroup_table_puts_each_jobs_latency_in_its_own_run_summary(tmp_path):
    """Without training: two finished jobs whose records name their wandb runs, the bench's latency.json,
    then gradgroup-table (offline): each job's run is continued by its id with its row's latency and speedup."""
    from gradgroup.common.records import write_record  # the record's one writer, without Lightning's import

    sweep = tmp_path / "multirun" / "table3" / STAMP
    for exp, miou in (("table3/erfnet", 40.0), ("table3/dg4", 35.0)):
        run_dir = sweep / exp.replace("/", "-")
        write_record(run_dir, {"status": "ok", "experiment": exp, "label": exp, "table": "table3", "seed": 0,
                               "family": "ERFNet" if exp.endswith("erfnet") else "DGC*", "miou": miou, "params": 10,
                               "gmacs": 1.0, "input_hw": [512, 1024], "overrides": [f"experiment={exp}"],
                               "wandb": {"id": run_id(run_dir), "project": "proj", "entity": None,
                                         "group": f"table3-{STAMP}", "name": f"{exp} seed0"}})
    shutil.copy(FIXTURES / "latency.json", sweep / "latency.json")
    done = subprocess.run([sys.executable, "-m", "gradgroup.cli.table", str(sweep)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "WANDB_MODE": "offline"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "added to the summaries of 2 job runs" in done.stdout
    rows = {r["experiment"]: r for r in csv.DictReader((sweep / "results.csv").open())}
    for run_dir in sweep.glob("table3-*"):
        record = _record(run_dir)
        (run,) = offline_runs(run_dir / "wandb")
        assert (run.id, run.project, run.group, run.name) == tuple(record["wandb"][k] for k in ("id", "project", "group", "name"))
        row = rows[record["experiment"]]
        assert run.summary["latency_ms"] == pytest.approx(float(row["latency_ms"]))
        assert run.summary["speedup_vs_erfnet"] == pytest.approx(float(row["speedup_vs_erfnet"]))
        assert run.summary["latency_backend"] == "eager" and run.summary["miou"] == record["miou"]
        assert run.history == []
    assert rows["table3/dg4"]["speedup_vs_erfnet"] != rows["table3/erfnet"]["speedup_vs_erfnet"]
    (summary,) = offline_runs(sweep / "wandb")
    assert summary.group == f"table3-{STAMP}" and summary.project == "proj" and "miou_vs_latency_table" in summary.summary
