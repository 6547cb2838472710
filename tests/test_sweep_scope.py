"""The sweep verdict answers for the run dirs its sweeper launches (config/runtime.judge_only, read by
cli/sweep_callbacks.py and cli/sweep_progress.py): the placement search keeps trials and confirmation runs in
one dir, and a confirmation job killed mid-run must not fail the search's resume (it did: `make search
SEARCH_DIR=...` exited 1 before it could confirm again)."""
from __future__ import annotations

import json

import pytest

from gradgroup.results.sweep_jobs import SCOPE_ENV, finished_in_launch, in_scope, judge_only
from gradgroup.results.records import is_ok, load_runs
from gradgroup.search.confirm import CONFIRM_DIR
from gradgroup.search.runner import TRIAL_GLOB


def _record(run_dir, status):
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": status, "experiment": "x", "seed": 0,
                                                      "miou": 20.0 if status == "ok" else None}))


@pytest.fixture
def search_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(SCOPE_ENV, raising=False)
    _record(tmp_path / "trial000_s4-d_s8a-d_s8b-d_erfnet_seed0", "ok")
    _record(tmp_path / "trial001_s4-dgc4_s8a-d_s8b-d_light_seed0", "ok")
    _record(tmp_path / CONFIRM_DIR / "s4-d_s8a-d_s8b-d_erfnet_seed1", "failed")
    yield tmp_path
    judge_only(None)


def _bad(sweep_dir) -> list[str]:
    return sorted(r["_path"] for r in in_scope(load_runs([sweep_dir]), sweep_dir) if not is_ok(r))


def test_the_search_answers_for_its_trials_and_the_confirmation_for_its_runs(search_dir):
    assert len(_bad(search_dir)) == 1                  # unscoped: every run dir under the sweep dir
    judge_only(TRIAL_GLOB)
    assert _bad(search_dir) == [] and len(in_scope(load_runs([search_dir]), search_dir)) == 2
    judge_only(f"{CONFIRM_DIR}/*")
    assert [p.split("/")[-3:-1] for p in _bad(search_dir)] == [[CONFIRM_DIR, "s4-d_s8a-d_s8b-d_erfnet_seed1"]]
    judge_only(None)
    assert len(in_scope(load_runs([search_dir]), search_dir)) == 3


def test_a_resumed_sweeps_progress_does_not_count_an_earlier_launchs_stopped_job_as_finished(tmp_path, monkeypatch):
    """`make table3 RESUME=...` after a kill printed "2/8 jobs finished, 1 failed" while the stopped job was
    about to continue: a failed/stopped record older than this launch is work left, an ok one is done."""
    monkeypatch.delenv(SCOPE_ENV, raising=False)
    for name, status, started in (("0_a", "ok", 10.0), ("1_b", "stopped", 20.0), ("2_c", "failed", 1001.0),
                                  ("3_d", "stopped", 1002.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"status": status, "experiment": "x", "seed": 0,
                                                                  "started": started, "wall_s": 5.0,
                                                                  "miou": 20.0 if status == "ok" else None}))
    runs = in_scope(load_runs([tmp_path]), tmp_path)
    assert [finished_in_launch(r, 1000.0) for r in runs] == [True, False, True, True]
