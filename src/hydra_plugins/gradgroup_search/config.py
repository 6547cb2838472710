"""The settings of `hydra/sweeper=gradgroup_search` (sweeps/search.yaml sets them; docs/search.md explains them).

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


@dataclass
class BudgetConf:
    latency_ms: Optional[float] = None  # measured ms at latency.size on latency.backend
    gmacs: Optional[float] = None       # GMACs at complexity.input_hw
    prefilter: bool = True              # skip by the roofline bound before timing (measure/roofline.py)


@dataclass
class ConfirmConf:
    k: int = 3                      # at most this many front trials retrained
    seeds: List[int] = field(default_factory=lambda: [1, 2, 3])
    paper_rows: List[str] = field(default_factory=lambda: [
        "table3/erfnet", "table3/d", "table3/dg4", "table4/d_proposed", "table4/dg4_proposed"])
    paper_overrides: List[str] = field(default_factory=lambda: ["procedure=standard"])


@dataclass
class GradgroupSearchConf:
    _target_: str = "hydra_plugins.gradgroup_search.sweeper.SearchSweeper"
    mode: str = "search"            # search | confirm
    n_trials: int = 10              # trained trials (over-budget and duplicate architectures not counted)
    sampler: str = "nsgaii"         # nsgaii | tpe
    seed: int = 0                   # the sampler's seed
    population: Optional[int] = None  # NSGA-II population / TPE startup trials (default 8)
    batch_size: Optional[int] = None  # trials trained at once (default: the launcher's n_jobs, else 1)
    study_name: str = "search"
    space: Dict[str, Any] = field(default_factory=dict)
    latency: LatencyConf = field(default_factory=LatencyConf)
    budget: BudgetConf = field(default_factory=BudgetConf)
    confirm: ConfirmConf = field(default_factory=ConfirmConf)
    params: Optional[Dict[str, str]] = None  # overrides every job gets (like the basic sweeper's, no sweeps)


ConfigStore.instance().store(group="hydra/sweeper", name="gradgroup_search", node=GradgroupSearchConf,
                             provider="gradgroup")
