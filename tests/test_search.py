"""The placement search (docs/search.md): the space in sweeps/search.yaml, its points as ordinary overrides,
the search loop on a shared Optuna journal (no duplicated trials, resumable), and the report."""
import json
import multiprocessing as mp
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gradgroup.config.compose import compose_config
from gradgroup.errors import ConfigError
from gradgroup.search.cost import arch_key
from gradgroup.search.space import Space, parse_kind

ROOT = Path(__file__).resolve().parents[1]


def sweep_space() -> dict:
    return OmegaConf.to_container(OmegaConf.load(ROOT / "sweeps" / "search.yaml").hydra.sweeper.space)


def spec_of(overrides):
    return instantiate(compose_config(overrides).model, _convert_="all")


def test_the_declared_space_parses_and_a_point_is_ordinary_overrides():
    space = Space.from_config(sweep_space())
    assert [s.name for s in space.stages] == ["s4", "s8a", "s8b"] and space.size == 8 * 8 * 8 * 2 * 2
    point = space.point({"s4": "dgc4", "s8a": "d", "s8b": "nonbt1d"}, "light", True)
    assert point.label == "DG4|D|N+light+gg" and "layers 3-7: DGC G=4" in point.words
    cfg = compose_config(point.overrides())
    spec = instantiate(cfg.model, _convert_="all")
    assert cfg.name == "search/s4-dgc4_s8a-d_s8b-nonbt1d_light_gg" and cfg.label == "DG4|D|N+light+gg"
    assert spec.has_gradual and cfg.grouping.callback is not None and spec.decoder["name"] == "light"
    kinds = [type(m).__name__ for m in spec.build().encoder.layers]
    assert kinds[2:7] == ["DepthwiseSeparableBlock"] * 5 and kinds[12:] == ["NonBottleneck1D"] * 4
    # gradual grouping without a grouped stage means nothing: normalised off
    assert not space.point({"s4": "d", "s8a": "d", "s8b": "nonbt1d"}, "erfnet", True).gradual


def test_the_paper_rows_are_points_of_the_space_with_the_same_architecture():
    space = Space.from_config(sweep_space())
    d_star = space.point({"s4": "d", "s8a": "d", "s8b": "d"}, "erfnet", False)
    dg4p = space.point({"s4": "dgc4", "s8a": "dgc4", "s8b": "dgc4"}, "light", True)
    assert arch_key(spec_of(d_star.overrides())) == arch_key(spec_of(["experiment=table3/d"]))
    assert arch_key(spec_of(dg4p.overrides())) == arch_key(spec_of(["experiment=table4/dg4_proposed"]))
    erfnet = space.point({"s4": "nonbt1d", "s8a": "nonbt1d", "s8b": "nonbt1d"}, "erfnet", False)
    assert arch_key(spec_of(erfnet.overrides())) == arch_key(spec_of([])) == "erfnet | decoder erfnet"


@pytest.mark.parametrize("change, message", [
    ({"kinds": ["dgc3"]}, "group count 3 does not divide"),
    ({"kinds": ["bogus4"]}, "not <block><G>"),
    ({"kinds": ["d2"]}, "has no grouped convs"),
    ({"stages": {"a": [3, 4], "b": [4, 5]}}, "stages.b: needs encoder layers of its own"),
    ({"stages": {"a": [8]}}, "not residual encoder layers"),
    ({"decoder": ["heavy"]}, "decoder: ['heavy'] unknown"),
])
def test_a_wrong_space_names_the_key(change, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Space.from_config({**sweep_space(), **change})


def test_stages_reject_a_layer_named_twice():
    with pytest.raises(ConfigError, match="named by two stages"):
        spec_of(["model.encoder.stages=[{layers:[3,4],block:d},{layers:[4],block:dgc,groups:2}]"]).build()
    with pytest.raises(ConfigError, match="both model.encoder.layers and model.encoder.stages"):
        spec_of(["experiment=table3/d", "model.encoder.stages=[{layers:[3],block:dgc,groups:2}]"]).build()
    assert parse_kind("dgcs8") == ("dgcs", 8) and parse_kind("nonbt1d") == ("nonbt1d", 1)


class FakeCache:
    """Latency from the GMACs, no timing: the loop's bookkeeping without ONNX Runtime."""

    def __init__(self):
        self.seen = {}

    def measure(self, specs, log=print):
        for k in specs:
            self.seen.setdefault(k, {"ms": 10.0 + len(k) / 10})
        return dict(self.seen)

    def entries(self):
        return dict(self.seen)

    def bound_ms(self, spec):
        return None


def _search(sweep_dir, n_trials, seed, barrier=None):
    """One search process with a fake launcher that writes an ok metrics.json per job."""
    from gradgroup.search.runner import Budget, SearchRun
    from gradgroup.search.study import make_sampler, open_study

    def launch(batch):
        for overrides in batch:
            sub = next(o.split("=", 1)[1] for o in overrides if o.startswith("hydra.sweep.subdir="))
            (Path(sweep_dir) / sub).mkdir(parents=True, exist_ok=True)
            (Path(sweep_dir) / sub / "metrics.json").write_text(json.dumps({"status": "ok", "miou": 30.0 + len(sub) % 7}))

    study = open_study(sweep_dir, "search", make_sampler("nsgaii", seed, 4))
    if barrier is not None:
        barrier.wait()
    SearchRun(sweep_dir, Space.from_config(sweep_space()), study, FakeCache(), compose_config, launch, n_trials, 1,
              Budget(), ["preset=smoke"], log=lambda m: None).run()


def test_two_processes_on_one_storage_share_the_trials_without_duplicates(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_search, args=(str(tmp_path), 4, seed, barrier)) for seed in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0, 0]
    trials = json.loads((tmp_path / "search" / "trials.json").read_text())["trials"]
    done = [t for t in trials if t.get("trained")]
    assert len(done) == 4, [(t["number"], t["state"], t.get("owner")) for t in trials]
    assert len({t["number"] for t in trials}) == len(trials)  # Optuna handed out each number once
    assert len({t["arch"] for t in done}) == 4 and len({t["run_dir"] for t in done}) == 4
    assert len({t["owner"] for t in done}) == 2  # both processes trained some


def test_a_killed_search_adopts_its_cut_off_trial_and_ends_at_n(tmp_path):
    from gradgroup.search.study import make_sampler, open_study

    _search(str(tmp_path), 2, 0)
    study = open_study(str(tmp_path), "search", make_sampler("nsgaii", 0, 4))
    cut = study.ask()  # a trial whose process died mid-training: RUNNING, owner gone
    space = Space.from_config(sweep_space())
    space.suggest(cut)
    cut.set_user_attr("owner", "some-host_999999")
    _search(str(tmp_path), 4, 0)
    trials = json.loads((tmp_path / "search" / "trials.json").read_text())["trials"]
    done = sorted(t["number"] for t in trials if t.get("trained"))
    assert len(done) == 4 and cut.number in done  # adopted, not left behind
    assert not any(t["state"] == "RUNNING" for t in trials)


def _run_on(sweep_dir, study, n_trials=0):
    from gradgroup.search.runner import Budget, SearchRun

    return SearchRun(sweep_dir, Space.from_config(sweep_space()), study, FakeCache(), compose_config,
                     lambda batch: None, n_trials, 1, Budget(), ["preset=smoke"], log=lambda m: None)


def _listed_then(study, other, change):
    """The trials as `study` lists them, then `change(other)` by a second process's handle on the journal."""
    snapshot = study.get_trials(deepcopy=True)
    change(other)
    listed = iter([snapshot])
    real = study.get_trials
    study.get_trials = lambda deepcopy=False, **kw: next(listed, None) or real(deepcopy=deepcopy, **kw)
    return snapshot


def test_a_trial_another_process_finished_after_the_listing_is_never_updated(tmp_path):
    from optuna.trial import TrialState

    from gradgroup.search.study import make_sampler, open_study

    study = open_study(str(tmp_path), "search", make_sampler("nsgaii", 0, 4))
    other = open_study(str(tmp_path), "search", make_sampler("nsgaii", 1, 4))  # its own journal worker
    cut = study.ask()
    Space.from_config(sweep_space()).suggest(cut)
    cut.set_user_attr("owner", "some-host_999999")  # its owner is gone: a stale trial
    run = _run_on(str(tmp_path), study)
    _listed_then(study, other, lambda o: o.tell(cut.number, state=TrialState.FAIL))  # adopted and ended there
    assert run.next_batch() == []  # before: UpdateFinishedTrialError from set_user_attr
    run.owner.close()
    (t,) = study.get_trials()
    assert t.state == TrialState.FAIL and t.user_attrs["owner"] == "some-host_999999"


def test_a_trial_another_live_process_owns_is_never_adopted(tmp_path):
    import os
    import socket

    from gradgroup.search.study import make_sampler, open_study

    study = open_study(str(tmp_path), "search", make_sampler("nsgaii", 0, 4))
    other = open_study(str(tmp_path), "search", make_sampler("nsgaii", 1, 4))
    fresh = other.ask()  # listed by `study` before its owner was written: no owner yet
    live = f"{socket.gethostname()}_{os.getppid()}"  # a process that runs, with its heartbeat file
    (tmp_path / "search" / "owners").mkdir(parents=True, exist_ok=True)
    (tmp_path / "search" / "owners" / live).write_text("beat\n")
    run = _run_on(str(tmp_path), study, n_trials=0)
    snapshot = _listed_then(study, other, lambda o: o._storage.set_trial_user_attr(fresh._trial_id, "owner", live))
    assert "owner" not in snapshot[0].user_attrs
    assert run.adopt(snapshot[0]) is None and run.next_batch() == []
    run.owner.close()
    assert study.get_trials()[0].user_attrs["owner"] == live


def test_asking_a_trial_and_owning_it_is_one_step_under_the_claim_lock(tmp_path):
    import threading
    import time

    from gradgroup.search.study import claim_lock, make_sampler, open_study

    study = open_study(str(tmp_path), "search", make_sampler("nsgaii", 0, 4))
    run = _run_on(str(tmp_path), study)
    asked = []
    with claim_lock(str(tmp_path)):  # another process is asking or adopting
        worker = threading.Thread(target=lambda: asked.append(run.ask()))
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive() and study.get_trials() == []
    worker.join(30)
    run.owner.close()
    assert asked and study.get_trials()[0].user_attrs["owner"] == run.owner.id


def test_a_batch_never_exceeds_the_population_whatever_the_launcher():
    from gradgroup.search.runner import batch_size

    assert batch_size(None, {"array_parallelism": 256}, 8) == 8  # the SLURM launcher's preset
    assert batch_size(None, {"n_jobs": 2}, 8) == 2 and batch_size(None, {}, 8) == 1
    assert batch_size(16, {"n_jobs": 2}, 8) == 8 and batch_size(3, {}, 8) == 3


def test_a_search_under_a_wide_array_runs_in_real_nsga2_generations(tmp_path):
    from gradgroup.search.runner import Budget, SearchRun, batch_size
    from gradgroup.search.study import make_sampler, open_study

    sweep_dir, launched = str(tmp_path), []

    def launch(batch):
        launched.append(len(batch))
        for overrides in batch:
            sub = next(o.split("=", 1)[1] for o in overrides if o.startswith("hydra.sweep.subdir="))
            (tmp_path / sub).mkdir(parents=True, exist_ok=True)
            (tmp_path / sub / "metrics.json").write_text(json.dumps({"status": "ok", "miou": 30.0 + len(sub) % 7}))

    study = open_study(sweep_dir, "search", make_sampler("nsgaii", 0, 4))
    batch = batch_size(None, {"array_parallelism": 256}, 4)
    SearchRun(sweep_dir, Space.from_config(sweep_space()), study, FakeCache(), compose_config, launch, 8, batch,
              Budget(), ["preset=smoke"], log=lambda m: None).run()
    assert max(launched) <= 4
    trained = [t for t in study.get_trials() if t.user_attrs.get("trained")]
    generations = {t.system_attrs.get("NSGAIISampler:generation") for t in trained}
    assert len(trained) == 8 and {0, 1} <= generations, generations  # the journal shows two generations


def test_the_failure_cap_stops_a_search_whose_every_trial_fails(tmp_path):
    from gradgroup.search.runner import Budget, Failures, SearchRun
    from gradgroup.search.study import make_sampler, open_study

    launched, lines = [], []

    def launch(batch):  # every job fails, as with a broken data root
        for overrides in batch:
            sub = next(o.split("=", 1)[1] for o in overrides if o.startswith("hydra.sweep.subdir="))
            launched.append(sub)
            (tmp_path / sub).mkdir(parents=True, exist_ok=True)
            (tmp_path / sub / "metrics.json").write_text(json.dumps({"status": "failed", "error": "DataError: no data"}))

    study = open_study(str(tmp_path), "search", make_sampler("nsgaii", 0, 4))
    SearchRun(str(tmp_path), Space.from_config(sweep_space()), study, FakeCache(), compose_config, launch, 10, 1,
              Budget(), ["preset=smoke"], log=lines.append, failures=Failures(consecutive=3)).run()
    assert len(launched) == 3, launched  # not 20 * 10 + 50
    assert "3 trials failed in a row" in lines[-1] and "DataError: no data" in lines[-1]


def test_the_failure_cap_counts_a_streak_and_a_fraction():
    from optuna.trial import TrialState, create_trial

    from gradgroup.search.runner import Failures

    def trials(states):
        return [create_trial(state=TrialState.FAIL, user_attrs={"run_dir": f"t{i}", "error": "boom"})
                if s == "f" else create_trial(state=TrialState.COMPLETE, values=[1.0, 1.0]) for i, s in enumerate(states)]

    assert Failures(consecutive=2).reason(trials("ffo")) is None
    assert "2 trials failed in a row" in Failures(consecutive=2).reason(trials("okff"))
    assert Failures(fraction=0.5, min_trials=4).reason(trials("fof")) is None  # too few to judge
    assert "3 of 5 trials failed" in Failures(fraction=0.5, min_trials=4).reason(trials("fofof"))
    assert Failures().reason(trials("fff")) is None  # no cap


def test_the_search_defaults_are_stated_once_in_the_sweeper_config():
    import inspect

    from hydra_plugins.gradgroup_search.config import GradgroupSearchConf
    from hydra_plugins.gradgroup_search.sweeper import SearchSweeper

    from gradgroup.search.cost import LatencyCache
    from gradgroup.search.study import make_sampler

    sweeper = OmegaConf.load(ROOT / "sweeps" / "search.yaml").hydra.sweeper
    assert set(sweeper) == {"space"}, "sweeps/search.yaml restates a default of config.py"
    no_default = inspect.Parameter.empty
    assert all(p.default is no_default for n, p in inspect.signature(LatencyCache).parameters.items())
    assert inspect.signature(make_sampler).parameters["population"].default is no_default
    init = inspect.signature(SearchSweeper).parameters
    assert all(p.default is no_default for n, p in init.items() if n != "params")
    conf = GradgroupSearchConf()
    assert set(init) == {f for f in conf.__dataclass_fields__ if f != "_target_"}
    assert conf.n_trials == 2 * conf.population  # what the sweep promises: two NSGA-II generations


def test_optuna_is_pinned_to_what_the_search_needs():
    import tomllib

    import optuna
    from packaging.version import Version

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["search"]
    (pin,) = [d for d in deps if d.replace(" ", "").startswith("optuna")]
    assert pin.replace(" ", "") == "optuna>=5"  # Trial.set_constraint (search/study.py) is Optuna 5's
    assert Version(optuna.__version__) >= Version("5") and hasattr(optuna.trial.Trial, "set_constraint")


def test_latency_timed_elsewhere_names_its_host_and_keeps_its_warnings(tmp_path):
    """Under hydra/launcher=slurm the search hands the timing to a runner (a SLURM job on a compute node,
    jobs/slurm_call.py); here a runner that runs it in a child process stands for that node. The entries say
    which host timed them and carry the measurement's warnings."""
    import socket
    from concurrent.futures import ProcessPoolExecutor

    from gradgroup.search.cost import LatencyCache
    from gradgroup.models.spec import ModelSpec

    calls = []

    def elsewhere(fn, *args):
        calls.append(fn.__name__)
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            return pool.submit(fn, *args).result()

    cache = LatencyCache(tmp_path, backend="eager", size="64x32", output="labels", threads=1, rounds=1, warmup=0,
                         runner=elsewhere)
    dg4 = spec_of(["experiment=table3/dg4"])
    entries = cache.measure({arch_key(dg4): dg4, arch_key(ModelSpec()): ModelSpec()}, log=lambda m: None)
    assert calls == ["time_on_this_host"]
    for entry in entries.values():
        assert entry["timed_on"] == socket.gethostname() and isinstance(entry["warnings"], list)
        assert entry["ms"] > 0 and entry["erfnet_ms"] > 0  # ERFNet timed in the same rounds
    assert entries[arch_key(ModelSpec())]["speedup_vs_erfnet"] == pytest.approx(1.0)
    assert cache.measure({arch_key(dg4): dg4}, log=lambda m: None) == entries and calls == ["time_on_this_host"]


def test_a_latency_job_asks_for_what_the_sweeps_slurm_jobs_ask_for():
    from gradgroup.jobs.slurm_call import job_parameters

    launcher = {"partition": "gpu", "account": "lab", "qos": None, "setup": ["module load cuda"], "mem_gb": 8,
                "timeout_min": 30, "cpus_per_task": 4, "gpus_per_node": 0, "array_parallelism": 256,
                "signal_delay_s": 90, "additional_parameters": {"signal": "USR1@90"}}
    params = job_parameters(launcher, cpus=2)
    assert params == {"slurm_partition": "gpu", "slurm_account": "lab", "slurm_setup": ["module load cuda"],
                      "mem_gb": 8, "timeout_min": 30, "gpus_per_node": 0, "cpus_per_task": 2,
                      "name": "gradgroup-call"}  # no requeue notice: a timing job is short and not resumable
    assert job_parameters(launcher, cpus=None)["cpus_per_task"] == 4
