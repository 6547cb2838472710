"""A Hydra sweeper that runs the placement search (gradgroup/search/) through the chosen launcher.

Like Hydra's BasicSweeper it receives the launcher in `setup` and hands it batches of override lists, so
`hydra/launcher=joblib|submitit_local|slurm` work unchanged; unlike it, the batches come from an
Optuna study (search mode) or from the study's front and the paper's rows (confirm mode). A trial's config
is composed by Hydra's own config loader (the same call the launchers make), so the model it times and
the model it trains are one recipe.

Hydra imports every module of its plugin packages whenever any Hydra app starts (`gradgroup-train --help`,
`gradgroup-complexity`): the search's own modules (torch, ONNX Runtime, Optuna) load only once this
sweeper is instantiated.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from gradgroup.errors import ConfigError, require_extra

MODES = ("search", "confirm")
# Under Hydra the root logger prints INFO, and the ONNX exporter's passes (onnxscript, onnx_ir) log a line per
# rewrite while the search times an architecture: keep their warnings, drop the chatter.
EXPORT_LOGGERS = ("onnxscript", "onnx_ir")


class SearchSweeper(Sweeper):
    # Hydra hands in every setting of GradgroupSearchConf (config.py, where the defaults are stated): no defaults here.
    def __init__(self, mode: str, n_trials: int, sampler: str, seed: int, population: int,
                 batch_size: Optional[int], study_name: str, space: Any, latency: Any, budget: Any, confirm: Any,
                 failures: Any, params: Any = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"hydra.sweeper.mode={mode!r} is unknown; expected one of {MODES}.")
        for extra in ("search", "deploy"):  # Optuna's study; the latency objective times ONNX Runtime
            require_extra(extra, "hydra/sweeper=gradgroup_search (the placement search)")
        from gradgroup.search.space import Space

        plain = lambda node: OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})  # noqa: E731
        self.mode, self.n_trials, self.sampler_name, self.seed = mode, int(n_trials), sampler, seed
        self.population, self.batch_size, self.study_name = population, batch_size, study_name
        self.space = Space.from_config(plain(space))
        self.latency, self.budget, self.confirm = plain(latency), plain(budget), plain(confirm)
        self.failures = plain(failures)
        self.params = plain(params)
        self.launcher = self.config = self.hydra_context = None
        self.job_idx = 0

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        for name in EXPORT_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def _compose(self, overrides: List[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))

    def _launch(self, batch: List[List[str]]) -> None:
        self.validate_batch_is_legal(batch)
        self.launcher.launch(batch, initial_job_idx=self.job_idx)
        self.job_idx += len(batch)

    def _latency_runner(self, sweep_dir: Path):
        """Where the search times latency (hydra.sweeper.latency.where): None for this process, or a runner
        that times as a SLURM job with the launcher's settings (jobs/slurm_call.py)."""
        from gradgroup.config.runtime import scheduler_owns_jobs

        where, launcher = self.latency.get("where", "auto"), self.config.hydra.launcher
        if where not in ("auto", "here", "slurm"):
            raise ConfigError(f"hydra.sweeper.latency.where={where!r} is unknown; expected auto, here or slurm.")
        on_slurm = scheduler_owns_jobs(launcher)
        if where == "slurm" and not on_slurm:
            raise ConfigError("hydra.sweeper.latency.where=slurm needs hydra/launcher=slurm (the SLURM settings "
                              "its timing job uses); leave it at auto to time here.")
        if where == "here" or not on_slurm:
            return None
        from gradgroup.jobs.slurm_call import call_as_job

        return functools.partial(call_as_job, folder=sweep_dir / ".submitit-latency",
                                 launcher=OmegaConf.to_container(launcher, resolve=True),
                                 cpus=self.latency.get("threads"))

    def sweep(self, arguments: List[str]) -> Any:
        from gradgroup.results.sweep_jobs import judge_only
        from gradgroup.search.confirm import CONFIRM_DIR, confirm_jobs
        from gradgroup.search.cost import LatencyCache
        from gradgroup.search.runner import TRIAL_GLOB, Budget, Failures, SearchRun, batch_size, export_trials
        from gradgroup.search.study import make_sampler, open_study

        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        fixed = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        if any("," in a.split("=", 1)[-1] and not a.split("=", 1)[-1].lstrip().startswith(("[", "{", "'", '"'))
               for a in fixed):
            raise ConfigError(f"gradgroup_search sweeps over its own space (hydra.sweeper.space); the overrides "
                              f"{fixed} must be single values, not comma lists.")
        launcher = self.config.hydra.get("launcher") or {}
        parallel = self.batch_size or int(launcher.get("n_jobs") or launcher.get("array_parallelism") or 1)
        batch = batch_size(self.batch_size, launcher, self.population)
        study = open_study(sweep_dir, self.study_name, make_sampler(self.sampler_name, self.seed, self.population))
        if study.trials:  # a resumed search: the sampler's seed moves on, so it does not redraw the first points
            study.sampler = make_sampler(self.sampler_name, self.seed + len(study.trials), self.population)
        cache = LatencyCache(sweep_dir, **{k: v for k, v in self.latency.items() if k != "where"},
                             runner=self._latency_runner(sweep_dir))
        capped = f" (not {parallel}: at most one population of {self.population})" if batch < parallel else ""
        print(f"search: {self.mode} in {sweep_dir} ({self.space.size} architectures in the space, "
              f"{self.sampler_name}, {batch} trained at a time{capped if self.mode == 'search' else ''})", flush=True)
        # The sweep's exit status answers for this mode's jobs: the trials, or the confirmation's runs.
        judge_only(f"{CONFIRM_DIR}/*" if self.mode == "confirm" else TRIAL_GLOB)
        if self.mode == "search":
            SearchRun(sweep_dir, self.space, study, cache, self._compose, self._launch, self.n_trials, batch,
                      Budget(**self.budget), fixed, log=lambda m: print(m, flush=True),
                      failures=Failures(**self.failures)).run()
            return None
        jobs = confirm_jobs(study, self.space, self._compose, cache, sweep_dir, log=lambda m: print(m, flush=True),
                            fixed=fixed, **self.confirm)
        for i in range(0, len(jobs), parallel):  # no generations here: as many at once as the launcher runs
            self._launch(jobs[i:i + parallel])
            print(f"search: confirmation {min(i + parallel, len(jobs))}/{len(jobs)} jobs done", flush=True)
        export_trials(study, sweep_dir)
        return None
