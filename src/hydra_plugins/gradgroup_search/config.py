"""The settings of `hydra/sweeper=gradgroup_search` and their defaults, stated here only (docs/search.md
explains them): sweeps/search.yaml declares the space and nothing else, the sweeper and search/ take every
other value from here.

Registered in Hydra's ConfigStore when Hydra scans the `hydra_plugins` namespace package, as the launcher
plugins are (hydra-joblib-launcher, hydra-submitit-launcher).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class LatencyConf:
    backend: str = "onnxruntime"   # a gradgroup-bench backend
    size: str = "1024x512"         # W x H, the paper's input
    output: str = "labels"         # labels (what a deployed segmenter returns) | logits
    threads: Optional[int] = 2     # intra-op threads of the timed backend
    rounds: int = 5
    warmup: int = 1
    where: str = "auto"            # auto: as a SLURM job under hydra/launcher=slurm (a compute node), else here | here | slurm


@dataclass
class BudgetConf:
    latency_ms: Optional[float] = None  # measured ms at latency.size on latency.backend
    gmacs: Optional[float] = None       # GMACs at complexity.input_hw
    prefilter: bool = True              # skip by the roofline bound before timing (measure/roofline.py)


@dataclass
class ConfirmConf:
    k: int = 2                      # at most this many front trials retrained, spread over latency
    seeds: List[int] = field(default_factory=lambda: [1, 2, 3])  # seeds the search did not select on
    paper_rows: List[str] = field(default_factory=lambda: [
        "table3/erfnet", "table3/d", "table3/dg4", "table4/d_proposed", "table4/dg4_proposed"])
    paper_overrides: List[str] = field(default_factory=lambda: ["procedure=standard"])  # the trials' budget


@dataclass
class FailuresConf:
    """When the search gives up: a setup where every training fails ends after a few trials, not 20n+50."""
    consecutive: Optional[int] = 3   # stop after this many launched trials failed in a row (null: never)
    fraction: Optional[float] = 0.5  # stop once more than this fraction of launched trials failed (null: never)
    min_trials: int = 4              # ... judged once at least this many trials were launched


@dataclass
class GradgroupSearchConf:
    _target_: str = "hydra_plugins.gradgroup_search.sweeper.SearchSweeper"
    mode: str = "search"            # search | confirm
    n_trials: int = 16              # trained trials (over-budget and duplicate architectures not counted);
                                    # 16 = two NSGA-II generations of 8
    sampler: str = "nsgaii"         # nsgaii | tpe (both multi-objective, with the budget as a constraint)
    seed: int = 0                   # the sampler's; a resumed search continues from seed + trials so far; give a
                                    # second process on the same dir its own seed, or it proposes what the first did
    population: int = 8             # NSGA-II population / TPE random startup trials
    batch_size: Optional[int] = None  # trials trained at once (default: the launcher's n_jobs or
                                      # array_parallelism, else 1); never more than `population`
    study_name: str = "search"
    space: Dict[str, Any] = field(default_factory=dict)
    latency: LatencyConf = field(default_factory=LatencyConf)
    budget: BudgetConf = field(default_factory=BudgetConf)
    confirm: ConfirmConf = field(default_factory=ConfirmConf)
    failures: FailuresConf = field(default_factory=FailuresConf)
    params: Optional[Dict[str, str]] = None  # overrides every job gets (like the basic sweeper's, no sweeps)


ConfigStore.instance().store(group="hydra/sweeper", name="gradgroup_search", node=GradgroupSearchConf,
                             provider="gradgroup")
