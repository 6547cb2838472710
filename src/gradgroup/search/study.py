"""The Optuna study of a search, kept in its sweep dir, and which of its trials are still alive.

Storage: Optuna's JournalStorage on `<sweep dir>/search/study.journal` with the file-open lock
(`JournalFileOpenLock`), which several processes, on one host or on a shared filesystem, may append to at
once: trial numbers are handed out under the lock, so two searches on one storage never get the same trial.
Objectives: validation mIoU (maximize) and measured latency in ms (minimize). Samplers: NSGA-II
(Deb et al. 2002) or multi-objective TPE (Ozaki et al. 2022), both with Optuna's constraint handling: a
trial's "budget" constraint (`Trial.set_constraint`; > 0: over the budget) makes it infeasible.

A process running trials says so with an owner file, `<sweep dir>/search/owners/<host>_<pid>`, touched every
HEARTBEAT_S seconds by a daemon thread; each trial it runs carries its owner. A RUNNING trial whose owner
is gone (on this host: the pid no longer exists; anywhere: the file is older than STALE_S) was cut off by a
kill: a resumed search adopts it and runs the same architecture again in the same run dir.

Ownership is atomic with respect to the journal: asking a trial and writing its owner happen under one
lock, the claim lock (`<sweep dir>/search/claims.lock`, an O_EXCL lock file like the journal's own, so it
holds on a shared filesystem too), and so does adopting one, which re-reads the trial under that lock and
takes it only while it is still RUNNING and its owner still gone. So no process ever sees a trial between
its creation and its owner, and no process updates a trial that another finished or owns.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, Trial, TrialState

from ..common.processes import pid_alive
from ..errors import ConfigError

DIRECTIONS = ["maximize", "minimize"]  # val mIoU, latency ms
SAMPLERS = ("nsgaii", "tpe")
HEARTBEAT_S = 20
STALE_S = 180
CLAIM_GRACE_S = 120  # a claim lock older than this was left by a killed process: taken over


def make_sampler(name: str, seed: int | None, population: int):
    """NSGA-II with `population` per generation, or TPE with `population` random startup trials."""
    if name == "nsgaii":
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=population)
    raise ConfigError(f"hydra.sweeper.sampler={name!r} is unknown; expected one of {SAMPLERS}.")


def open_study(sweep_dir, name: str, sampler) -> optuna.Study:
    """The study `name` in `<sweep_dir>/search/study.journal`, created or loaded (several processes may)."""
    path = Path(sweep_dir) / "search" / "study.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=name, storage=storage, sampler=sampler, directions=DIRECTIONS,
                               load_if_exists=True)


@contextmanager
def claim_lock(sweep_dir):
    """Held while this process asks a trial and writes itself its owner, or adopts a stale one (module doc)."""
    lock = JournalFileOpenLock(str(Path(sweep_dir) / "search" / "claims"), grace_period=CLAIM_GRACE_S)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


class Owner:
    """This process as the owner of the trials it runs, with a heartbeat file other processes can check."""

    def __init__(self, sweep_dir):
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.id = f"{self.host}_{self.pid}"
        self.dir = Path(sweep_dir) / "search" / "owners"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / self.id
        self._stop = threading.Event()
        self.beat()
        threading.Thread(target=self._run, daemon=True, name="search-heartbeat").start()

    def beat(self) -> None:
        self.path.write_text(f"{self.host} {self.pid}\n", encoding="utf-8")

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.beat()

    def close(self) -> None:
        self._stop.set()
        self.path.unlink(missing_ok=True)

    def is_alive(self, owner_id: str | None) -> bool:
        """Whether the process `owner_id` still runs its trials (see the module doc)."""
        if not owner_id:
            return False
        if owner_id == self.id:
            return True
        host, _, pid = owner_id.rpartition("_")
        if host == self.host and pid.isdigit() and not pid_alive(int(pid)):
            return False
        try:
            return time.time() - (self.dir / owner_id).stat().st_mtime < STALE_S
        except FileNotFoundError:
            return False


def trained(trial: FrozenTrial) -> bool:
    """A trial whose architecture was trained (not skipped for the budget, not a duplicate)."""
    return trial.state == TrialState.COMPLETE and bool(trial.user_attrs.get("trained"))


def set_budget_excess(study, trial_id: int, excess: float) -> None:
    """Record how far a trial is over the budget (<= 0: within): Optuna's constraint, and a user attribute
    the exported trials.json keeps."""
    Trial(study, trial_id).set_constraint("budget", excess)
    study._storage.set_trial_user_attr(trial_id, "constraint", float(excess))
