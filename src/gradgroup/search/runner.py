"""The search loop: ask the study for architectures, time the new ones, train a batch, tell the results.

Hydra-free: the sweeper plugin (hydra_plugins/gradgroup_search) hands in `compose(overrides) -> config`
and `launch(list of override lists)`, which run through whatever launcher the sweep chose (basic, joblib,
submitit). One batch at a time: the batch's new architectures are timed first (search/cost.py), then its
trainings run, so no timing ever runs beside a training of this search. `n_trials` counts trained trials:
an architecture over a budget is told infeasible without training (by the roofline bound before timing
when `prefilter`, by its GMACs, or by its measured latency), and one already trained (or in training) is a
duplicate, told the earlier trial's values. A killed search resumes (search/study.py: stale trials are
adopted and their architecture trained again in the same run dir; finished ones are never rerun).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, Trial, TrialState

from ..common.atomic import atomic_write_json
from ..common.duration import duration
from ..common.records import is_ok, read_record
from ..measure.complexity import complexity_report
from ..models.spec import ModelSpec
from .cost import LatencyCache, arch_key
from .space import Point, Space
from .study import Owner, claim_lock, set_budget_excess, trained

TRIALS_FILE = "trials.json"
TRIAL_GLOB = "trial[0-9]*"  # the run dirs of the trials (Pending.subdir), for the sweep verdict


@dataclass
class Budget:
    latency_ms: float | None = None
    gmacs: float | None = None
    prefilter: bool = True  # skip by the roofline bound before timing

    def excess(self, latency_ms: float | None, gmacs: float | None) -> float:
        """How far over the budget (> 0) or under it (<= 0), relative to the budget."""
        out = -1.0
        if self.latency_ms and latency_ms is not None:
            out = max(out, latency_ms / self.latency_ms - 1)
        if self.gmacs and gmacs is not None:
            out = max(out, gmacs / self.gmacs - 1)
        return out


@dataclass
class Failures:
    """When the search gives up (hydra.sweeper.failures; None: no cap). Counted over the trials this process
    launched, so a search resumed after its setup was fixed starts a fresh count."""
    consecutive: int | None = None
    fraction: float | None = None
    min_trials: int = 1

    def reason(self, launched: list[FrozenTrial]) -> str | None:
        """Why to stop, given the finished launched trials in order (None: go on)."""
        failed = [t for t in launched if t.state == TrialState.FAIL]
        if not failed:
            return None
        streak = next((i for i, t in enumerate(reversed(launched)) if t.state != TrialState.FAIL), len(launched))
        if self.consecutive and streak >= self.consecutive:
            why = f"{streak} trials failed in a row (hydra.sweeper.failures.consecutive={self.consecutive})"
        elif (self.fraction is not None and len(launched) >= max(1, self.min_trials)
              and len(failed) > self.fraction * len(launched)):
            why = (f"{len(failed)} of {len(launched)} trials failed (more than hydra.sweeper.failures.fraction="
                   f"{self.fraction:g})")
        else:
            return None
        last = failed[-1].user_attrs
        return f"{why}; the last error (trial {failed[-1].number}, {last.get('run_dir')}): {last.get('error')}"


def batch_size(explicit: int | None, launcher, population: int) -> int:
    """Trials trained at once: `explicit`, else the launcher's parallel jobs (joblib's n_jobs, SLURM's
    array_parallelism), else 1; never more than the sampler's population, so each NSGA-II generation is bred
    from a finished one instead of drawn beside it (a 256-wide SLURM array would make every trial generation 0)."""
    wanted = explicit or int(launcher.get("n_jobs") or launcher.get("array_parallelism") or 1)
    return max(1, min(int(wanted), int(population)))


@dataclass
class Pending:
    number: int
    trial_id: int
    point: Point
    spec: ModelSpec
    key: str
    seed: int
    gmacs: float
    attrs: dict = field(default_factory=dict)

    @property
    def subdir(self) -> str:
        return f"trial{self.number:03d}_{self.point.slug}_seed{self.seed}"  # matches TRIAL_GLOB


def model_of(cfg) -> ModelSpec:
    return ModelSpec(num_classes=int(cfg.model.num_classes), encoder=dict(cfg.model.encoder),
                     decoder=dict(cfg.model.decoder))


class SearchRun:
    def __init__(self, sweep_dir, space: Space, study, cache: LatencyCache, compose: Callable, launch: Callable,
                 n_trials: int, batch_size: int, budget: Budget, fixed: list[str], log: Callable = print,
                 failures: Failures | None = None):
        self.dir, self.space, self.study, self.cache = Path(sweep_dir), space, study, cache
        self.compose, self.launch_jobs, self.log = compose, launch, log
        self.n_trials, self.batch_size, self.budget, self.fixed = n_trials, max(1, batch_size), budget, list(fixed)
        self.max_asks = 20 * n_trials + 50
        self.failures = failures or Failures()
        self.owner = Owner(sweep_dir)
        self.start = time.time()

    def _set(self, trial_id: int, **attrs) -> None:
        for k, v in attrs.items():
            self.study._storage.set_trial_user_attr(trial_id, k, v)

    def pending(self, t: FrozenTrial | Trial) -> Pending:
        number, tid = t.number, t._trial_id
        point = self.space.point_of(t.params)
        cfg = self.compose([*self.fixed, *point.overrides()])
        spec = model_of(cfg)
        cx = complexity_report(spec.deployable().build(), tuple(cfg.complexity.input_hw), str(cfg.complexity.convention))
        return Pending(number, tid, point, spec, arch_key(spec), int(cfg.seed), cx["gmacs"])

    def describe(self, p: Pending) -> Pending:
        """Write what the trial is (architecture key, label, words, run dir) into its user attributes."""
        self._set(p.trial_id, arch=p.key, label=p.point.label, words=p.point.words,
                  name=f"search/{p.point.slug}", subdir=p.subdir, gmacs=p.gmacs)
        return p

    def _skip(self, p: Pending, latency: float | None, why: str, excess: float) -> None:
        self._set(p.trial_id, trained=False, skipped=why)
        set_budget_excess(self.study, p.trial_id, excess)
        self.study.tell(p.number, [0.0, float(latency if latency is not None else 0.0)])
        self.log(f"search: trial {p.number} ({p.point.label}) not trained: {why}")

    def next_batch(self) -> list[Pending]:
        trials = self.study.get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        stale = [t for t in running if not self.owner.is_alive(t.user_attrs.get("owner"))]
        remaining = self.n_trials - sum(map(trained, trials)) - len(running)
        batch = []
        for t in stale:
            if len(batch) >= self.batch_size:
                break
            t = self.adopt(t)
            if t is None:  # finished or taken by another process since the listing
                continue
            if len(t.params) < len(self.space.stages) + 2:  # cut off while its point was being sampled
                self.log(f"search: trial {t.number} was cut off before its architecture was chosen; failed")
                self.study.tell(t.number, state=TrialState.FAIL)
                continue
            self.log(f"search: adopting trial {t.number}, cut off before it finished; training it again")
            batch.append(self.describe(self.pending(t)))
        asks = sum(1 for t in trials if t.user_attrs.get("owner") == self.owner.id)
        while len(batch) < self.batch_size and remaining > 0 and asks < self.max_asks:
            asks += 1
            trial = self.ask()
            self.space.suggest(trial)
            p = self.describe(self.pending(trial))
            if self._duplicate(p):
                continue
            if self.budget.gmacs and p.gmacs > self.budget.gmacs:
                self._skip(p, None, f"{p.gmacs:.2f} GMACs > budget {self.budget.gmacs:g}", self.budget.excess(None, p.gmacs))
                continue
            bound = self.cache.bound_ms(p.spec) if self.budget.latency_ms and self.budget.prefilter else None
            if bound is not None and bound > self.budget.latency_ms:
                self._skip(p, bound, f"roofline bound {bound:.1f} ms > budget {self.budget.latency_ms:g} ms",
                           self.budget.excess(bound, p.gmacs))
                continue
            batch.append(p)
            remaining -= 1
        return batch

    def ask(self) -> Trial:
        """A new trial, owned by this process from its first moment in the journal (search/study.py)."""
        with claim_lock(self.dir):
            trial = self.study.ask()
            trial.set_user_attr("owner", self.owner.id)
        return trial

    def adopt(self, t: FrozenTrial) -> FrozenTrial | None:
        """Take over a trial whose owner is gone: re-read under the claim lock, so a trial another process has
        finished or adopted since `t` was listed is left alone (None); else the trial, now this process's."""
        with claim_lock(self.dir):
            fresh = self.study._storage.get_trial(t._trial_id)
            if fresh.state != TrialState.RUNNING or self.owner.is_alive(fresh.user_attrs.get("owner")):
                return None
            try:
                self._set(fresh._trial_id, owner=self.owner.id)
            except UpdateFinishedTrialError:  # its owner was slow, not gone, and finished it meanwhile
                return None
        return fresh

    def _duplicate(self, p: Pending) -> bool:
        """Tell `p` a duplicate when an earlier trial has (or is training) the same architecture."""
        for t in self.study.get_trials(deepcopy=False):
            if t.number >= p.number or t.user_attrs.get("arch") != p.key:
                continue
            if trained(t) or (t.state == TrialState.COMPLETE and t.user_attrs.get("skipped")):
                self._set(p.trial_id, trained=False, duplicate_of=t.number, skipped=t.user_attrs.get("skipped"))
                set_budget_excess(self.study, p.trial_id, t.user_attrs.get("constraint", -1.0))
                self.study.tell(p.number, list(t.values))
                return True
            if t.state == TrialState.RUNNING:
                self._set(p.trial_id, trained=False, duplicate_of=t.number)
                self.study.tell(p.number, state=TrialState.PRUNED)
                return True
        return False

    def time_batch(self, batch: list[Pending]) -> list[Pending]:
        entries = self.cache.measure({p.key: p.spec for p in batch}, log=self.log)
        keep = []
        for p in batch:
            ms = entries[p.key]["ms"]
            if self.budget.latency_ms and ms > self.budget.latency_ms:
                self._skip(p, ms, f"measured {ms:.1f} ms > budget {self.budget.latency_ms:g} ms",
                           self.budget.excess(ms, p.gmacs))
            else:
                keep.append(p)
        return keep

    def train_batch(self, batch: list[Pending]) -> None:
        self.log(f"search: training {', '.join(f'trial {p.number} ({p.point.label})' for p in batch)}")
        self.launch_jobs([[*self.fixed, *p.point.overrides(), f"hydra.sweep.subdir={p.subdir}"] for p in batch])
        entries = self.cache.entries()
        for p in batch:
            rec = read_record(self.dir / p.subdir) or {}
            ms = entries[p.key]["ms"]
            if is_ok(rec):
                self._set(p.trial_id, trained=True, run_dir=p.subdir)
                set_budget_excess(self.study, p.trial_id, self.budget.excess(ms, p.gmacs))
                self.study.tell(p.number, [float(rec["miou"]), float(ms)])
            else:
                self._set(p.trial_id, trained=False, run_dir=p.subdir, error=str(rec.get("error") or rec.get("status")))
                self.study.tell(p.number, state=TrialState.FAIL)

    def launched(self) -> list[FrozenTrial]:
        """The finished trials this process launched for training, in order."""
        return [t for t in self.study.get_trials(deepcopy=False) if t.state.is_finished()
                and "run_dir" in t.user_attrs and t.user_attrs.get("owner") == self.owner.id]

    def progress(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        done = sum(map(trained, trials))
        skipped = sum(1 for t in trials if t.user_attrs.get("skipped") and "duplicate_of" not in t.user_attrs)
        dups = sum(1 for t in trials if "duplicate_of" in t.user_attrs)
        failed = sum(1 for t in trials if t.state == TrialState.FAIL)
        line = (f"search: {done}/{self.n_trials} trials trained ({skipped} over budget, {dups} duplicates, "
                f"{failed} failed), {duration(time.time() - self.start)} elapsed")
        mine = len(self.launched())
        if mine and done < self.n_trials:  # this process's wall time per launched trial, timing included
            line += f", ETA {duration((time.time() - self.start) / mine * (self.n_trials - done))}"
        self.log(line)
        export_trials(self.study, self.dir)

    def run(self) -> None:
        try:
            while True:
                batch = self.next_batch()
                if not batch:
                    break
                batch = self.time_batch(batch)
                if batch:
                    self.train_batch(batch)
                self.progress()
                why = self.failures.reason(self.launched())
                if why:
                    self.log(f"search: stopped: {why}")
                    break
        finally:
            self.owner.close()
            export_trials(self.study, self.dir)


def export_trials(study, sweep_dir) -> Path:
    """`<sweep dir>/search/trials.json`: every trial's number, state, values, params and attributes, the
    file the report (results/search_report.py) reads, so results/ needs no Optuna."""
    out = Path(sweep_dir) / "search" / TRIALS_FILE
    rows = [{"number": t.number, "state": t.state.name, "values": t.values, "params": t.params,
             **{k: v for k, v in t.user_attrs.items()}} for t in study.get_trials(deepcopy=False)]
    atomic_write_json(out, {"study": study.study_name, "directions": ["maximize val mIoU", "minimize latency ms"],
                            "trials": rows})
    return out
