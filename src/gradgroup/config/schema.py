"""Structured configs: the types, closed choices and keys of every config node, checked by Hydra.

Registered in Hydra's ConfigStore as `schema` and listed first in conf/train.yaml's defaults, so the YAML
files and every command-line override are merged *into* these dataclasses: a wrong type (`seed=abc`), an
unknown key (`data.batchsize=4`) or a value outside a closed choice (`complexity.convention=fast`) stops
the run before anything is built, with Hydra's own message naming the key. Closed choices are `str`
enums whose members equal their names, so code below the entry point compares them as plain strings.

What only the code can check stays where the knowledge lives: a group count that does not divide a
layer's channels (models/), a block kind (the registry in models/factory.py, open to new kinds), a data
root's layout and label ids (data/).

Nodes with `_target_` are built by `hydra.utils.instantiate` in `gradgroup.training.run.train`, and only
there; `_partial_` nodes (module, trainer, loggers, procedure) are completed by the procedure, which adds
the model, run dir and callbacks it creates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class _Choice(str, Enum):
    def __str__(self) -> str:  # print as the YAML value, not "Enum.member"
        return self.value


Convention = _Choice("Convention", {"exact": "exact", "paper": "paper"})
DecoderName = _Choice("DecoderName", {"erfnet": "erfnet", "light": "light", "light_all_d": "light_all_d"})
LossWeights = _Choice("LossWeights", {"erfnet": "erfnet", "histogram": "histogram", "none": "none"})
CheckpointChoice = _Choice("CheckpointChoice", {"last": "last", "best": "best"})
WandbMode = _Choice("WandbMode", {"offline": "offline", "online": "online", "disabled": "disabled"})
ValidateMode = _Choice("ValidateMode", {"full": "full", "quick": "quick", "none": "none"})
LabelResolution = _Choice("LabelResolution", {"full": "full", "half": "half", "label_hw": "label_hw"})
ScheduleShape = _Choice("ScheduleShape", {s: s for s in ("linear", "cosine", "step", "exponential")})
SchedulePer = _Choice("SchedulePer", {"step": "step", "epoch": "epoch"})


# ----------------------------------------------------------------------------- model
@dataclass
class EncoderConfig:
    block: str = "nonbt1d"          # a kind registered in gradgroup.models.factory (open to new kinds)
    groups: int = 1
    layers: Any = "none"            # starred | selective | none | a list of encoder layer indices
    gradual: bool = False           # set by grouping=gradual, never by hand
    dropout: Optional[List[float]] = None


@dataclass
class DecoderConfig:
    name: DecoderName = DecoderName.erfnet


@dataclass
class ModelConfig:
    _target_: str = "gradgroup.models.ModelSpec"
    _convert_: str = "all"
    num_classes: int = 19
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)


# ----------------------------------------------------------------------------- data
@dataclass
class SyntheticConfig:
    seed: int = 0
    num_train: int = 300
    num_val: int = 60
    num_test: int = 40
    height: int = 256
    width: int = 512


@dataclass
class JitterConfig:
    enabled: bool = False
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02


@dataclass
class AugmentConfig:
    hflip: bool = True
    translate_px: int = 2
    scale: List[float] = field(default_factory=lambda: [1.0, 1.0])
    jitter: JitterConfig = field(default_factory=JitterConfig)


@dataclass
class NormalizeConfig:
    mean: List[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: List[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])


@dataclass
class DataConfig:
    _target_: str = "gradgroup.data.cityscapes.CityscapesDataModule"
    root: Optional[str] = None
    cache_dir: Optional[str] = None  # None: data/synthetic/cache.py default_cache_dir()
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    train_hw: List[int] = field(default_factory=lambda: [128, 256])
    input_hw: List[int] = field(default_factory=lambda: [128, 256])
    label_hw: List[int] = field(default_factory=lambda: [128, 256])
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    batch_size: int = 8
    eval_batch_size: int = 8
    num_workers: int = 2
    limit_train: Optional[int] = None
    limit_val: Optional[int] = None
    validate: ValidateMode = ValidateMode.quick
    test_split: str = "val"
    label_resolution: LabelResolution = LabelResolution.label_hw   # ground truth scored at: full | half | label_hw


# ----------------------------------------------------------------------------- training
@dataclass
class OptimConfig:
    lr: float = 5.0e-4
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1.0e-8
    weight_decay: float = 1.0e-4
    poly_power: float = 0.9
    encoder_lr: Optional[float] = None
    encoder_lr_epochs: int = 0


@dataclass
class LossConfig:
    weights: LossWeights = LossWeights.erfnet


@dataclass
class EvalConfig:
    checkpoint: CheckpointChoice = CheckpointChoice.last


@dataclass
class ComplexityConfig:
    input_hw: List[int] = field(default_factory=lambda: [512, 1024])
    convention: Convention = Convention.exact


@dataclass
class CSVLoggerConfig:
    _target_: str = "pytorch_lightning.loggers.CSVLogger"
    _partial_: bool = True
    _convert_: str = "all"
    name: str = "csv"


@dataclass
class WandbConfig:
    _target_: str = "pytorch_lightning.loggers.WandbLogger"
    _partial_: bool = True
    _convert_: str = "all"
    mode: WandbMode = WandbMode.offline
    project: str = "gradgroup"
    entity: Optional[str] = None
    group: Optional[str] = None
    tags: List[str] = field(default_factory=list)


@dataclass
class LoggerConfig:
    csv: Optional[CSVLoggerConfig] = field(default_factory=CSVLoggerConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)


@dataclass
class GradualGroupingConfig:
    _target_: str = "gradgroup.grouping.callback.GradualGrouping"
    _convert_: str = "all"
    decay_fraction: Optional[float] = 0.5
    decay_epochs: Optional[float] = None
    finetune_epochs: int = 0
    dense_epochs: float = 0.0
    shape: ScheduleShape = ScheduleShape.linear
    per: SchedulePer = SchedulePer.step
    steps: int = 4
    rate: float = 5.0
    input_hw: Any = None               # [H, W] of the logged effective GMACs; null: not logged
    convention: Any = "exact"             # interpolated from complexity.convention


@dataclass
class GroupingConfig:
    callback: Optional[GradualGroupingConfig] = None   # null: grouped convs train grouped from the start


@dataclass
class PaperRow:
    miou: float = MISSING
    params: int = MISSING
    gmacs: float = MISSING


@dataclass
class ResourcesConfig:
    """One job's request to SLURM (conf/hydra/launcher/slurm.yaml reads it; set per preset)."""
    cpus: int = MISSING                 # CPUs per task (srun task = one DDP rank)
    mem_gb: int = MISSING               # memory per node
    time_min: int = MISSING             # time limit; SIGUSR1 comes hydra.launcher.signal_delay_s before it
    gpus: Optional[int] = None          # GPUs per node; null asks for none
    max_requeues: int = MISSING         # requeues on SIGUSR1 (time limit, preemption) before a job fails


@dataclass
class TrainConfig:
    # What this run is. `name` defaults to the experiment choice itself (conf/train.yaml).
    name: str = "erfnet"
    label: str = "ERFNet"
    family: str = "ERFNet"
    table: str = ""
    arm: Optional[str] = None
    paper: Optional[PaperRow] = None
    preset_name: Optional[str] = None
    seed: int = 0
    threads: Optional[int] = None
    ckpt_path: Optional[str] = None

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    complexity: ComplexityConfig = field(default_factory=ComplexityConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    # Open nodes: any Lightning Trainer keyword, and the procedure's own keys (each procedure class
    # checks its keyword arguments when it is instantiated).
    trainer: Dict[str, Any] = field(default_factory=dict)
    module: Dict[str, Any] = field(default_factory=dict)
    callbacks: Dict[str, Any] = field(default_factory=dict)
    procedure: Dict[str, Any] = field(default_factory=dict)


def register() -> None:
    """Put the schema in Hydra's ConfigStore (idempotent); conf/train.yaml lists it first."""
    ConfigStore.instance().store(name="schema", node=TrainConfig)
