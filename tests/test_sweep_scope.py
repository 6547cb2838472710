"""The sweep verdict answers for the run dirs its sweeper launches (cli/sweep_callbacks.judge_only): the
placement search keeps trials and confirmation runs in one dir, and a confirmation job killed mid-run must
not fail the search's resume (it did: `make search SEARCH_DIR=...` exited 1 before confirming again)."""
from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from gradgroup.cli import sweep_callbacks
from gradgroup.cli.sweep_callbacks import EXIT_STATUS, SweepGuard, judge_only
from gradgroup.cli.sweep_progress import SweepProgress
from gradgroup.search.confirm import CONFIRM_DIR
from gradgroup.search.runner import TRIAL_GLOB


def _record(run_dir, status):
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": status, "experiment": "x", "seed": 0,
                                                      "miou": 20.0 if status == "ok" else None}))


@pytest.fixture
def search_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(sweep_callbacks.SCOPE_ENV, raising=False)
    _record(tmp_path / "trial000_s4-d_seed0", "ok")
    _record(tmp_path / "trial001_s4-dgc4_seed0", "ok")
    _record(tmp_path / CONFIRM_DIR / "s4-d_seed1", "failed")
    yield tmp_path
    judge_only(None)


def _verdict(sweep_dir) -> int:
    EXIT_STATUS["code"] = 0
    SweepGuard().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}}))
    return EXIT_STATUS["code"]


def test_the_search_answers_for_its_trials_and_the_confirmation_for_its_runs(search_dir, capsys):
    assert _verdict(search_dir) == 1                # unscoped: every run dir under the sweep dir
    judge_only(TRIAL_GLOB)
    assert _verdict(search_dir) == 0
    judge_only(f"{CONFIRM_DIR}/*")
    assert _verdict(search_dir) == 1
    assert "1 of 1 jobs did not finish ok" in capsys.readouterr().out


def test_the_progress_lines_count_the_same_runs(search_dir, capsys):
    judge_only(TRIAL_GLOB)
    progress = SweepProgress()
    progress.sweep_dir, progress.start = search_dir, 0.0
    progress.on_multirun_end(OmegaConf.create({}))
    out = capsys.readouterr().out
    assert "2 ok, 0 failed" in out and "failed:" not in out
