"""Structured configs: the types, defaults, closed choices and keys of every config node, checked by Hydra.

Registered in Hydra's ConfigStore as `schema` and listed first in conf/train.yaml's defaults, so the YAML
files and every command-line override are merged *into* these dataclasses: a wrong type (`seed=abc`), an
unknown key (`data.batchsize=4`) or a value outside a closed choice (`complexity.convention=fast`) stops
the run before anything is built, with Hydra's own message naming the key. Closed choices are `str`
enums whose members equal their names, so code below the entry point compares them as plain strings;
a choice whose meaning lives in a lower package takes its list from there (data/choices.py,
grouping/schedules.py), so each list is written once. The defaults of the typed nodes live here, once:
the YAML files under conf/ set only what a group, experiment or preset changes, and the constructors
the nodes build (the data module, the grouping callback) take every setting without defaults of their own.

What only the code can check stays where the knowledge lives: a group count that does not divide a
layer's channels (models/), a block kind (the registry in models/factory.py, open to new kinds), a data
root's layout and label ids (data/).

Nodes with `_target_` are built by `build` (config/build.py, `hydra.utils.instantiate` underneath): a
training run's in `gradgroup.training.run.train`; `_partial_` nodes (module, trainer, loggers, procedure)
are completed by the procedure, which adds the model, run dir and callbacks it creates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ..common.wandb_names import env_default
from ..data.choices import LABEL_RESOLUTIONS, VALIDATE_MODES
from ..grouping.schedules import PERS, SHAPES


class _Choice(str, Enum):
    def __str__(self) -> str:  # print as the YAML value, not "Enum.member"
        return self.value


Convention = _Choice("Convention", {"exact": "exact", "paper": "paper"})
DecoderName = _Choice("DecoderName", {"erfnet": "erfnet", "light": "light", "light_all_d": "light_all_d"})
LossWeights = _Choice("LossWeights", {"erfnet": "erfnet", "histogram": "histogram", "none": "none"})
CheckpointChoice = _Choice("CheckpointChoice", {"last": "last", "best": "best"})
WandbMode = _Choice("WandbMode", {"offline": "offline", "online": "online", "disabled": "disabled"})
ValidateMode = _Choice("ValidateMode", {m: m for m in VALIDATE_MODES})
LabelResolution = _Choice("LabelResolution", {r: r for r in LABEL_RESOLUTIONS})
ScheduleShape = _Choice("ScheduleShape", {s: s for s in SHAPES})
SchedulePer = _Choice("SchedulePer", {p: p for p in PERS})
CompileMode = _Choice("CompileMode", {m: m for m in ("default", "reduce-overhead", "max-autotune")})


# ----------------------------------------------------------------------------- model
@dataclass
class StageConfig:                  # one entry of model.encoder.stages: these layers become `block` blocks
    layers: List[int] = MISSING
    block: str = MISSING
    groups: int = 1


@dataclass
class EncoderConfig:
    block: str = "nonbt1d"          # a kind registered in gradgroup.models.factory: nonbt1d | d | dgc | dgcs | ...
    groups: int = 1                 # G of the grouped 1x1 convs (dgc, dgcs); must divide 64 and 128
    layers: Any = "none"            # starred (all 13) | selective (6-7, 13-16) | none | a list such as [6, 7, 13]
    gradual: bool = False           # set by grouping=gradual, never by hand: the grouped 1x1 convs start dense
    dropout: Optional[List[float]] = None   # [p of the 64-ch layers, p of the 128-ch layers]; null = ERFNet's [0.03, 0.3]
    # a mixed placement, each stage its own kind: [{layers: [3, 4, 5, 6, 7], block: dgc, groups: 4}, {layers: [9, 10], block: d}]
    stages: List[StageConfig] = field(default_factory=list)
    pointwise_init: str = "default"  # | dense_fan_in: at a gradual conv's in-group scale (models/pointwise_init.py)


@dataclass
class DecoderConfig:
    name: DecoderName = DecoderName.erfnet   # erfnet | light (paper's light decoder, derived reading) | light_all_d


@dataclass
class ModelConfig:
    """ERFNet by default (Romera et al. 2018): every residual encoder layer Non-bt-1D, ERFNet's decoder.
    Builds a gradgroup.models.ModelSpec: the recipe of the network, built when the procedure needs it."""
    _target_: str = "gradgroup.models.ModelSpec"
    _convert_: str = "all"
    num_classes: int = 19
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)


# ----------------------------------------------------------------------------- data
@dataclass
class SyntheticConfig:             # generator params, used only when data.root is null
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
    translate_px: int = 2              # ERFNet reference: random +-2 px shift, uncovered labels = 255
    scale: List[float] = field(default_factory=lambda: [1.0, 1.0])   # random rescale range; [1, 1] = off (ERFNet)
    jitter: JitterConfig = field(default_factory=JitterConfig)


@dataclass
class NormalizeConfig:
    mean: List[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: List[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])


@dataclass
class DataConfig:
    """The Cityscapes datamodule. root null: a synthetic Cityscapes-layout dataset is generated once into
    cache_dir (offline, CPU-friendly); root /path/to/cityscapes: real data (leftImg8bit/ and gtFine/ with
    *_gtFine_labelIds.png). Relative paths are resolved against the directory the run was launched from.
    Defaults: a middle scale (128x256) each preset (conf/preset/) replaces; paper: [512,1024] (GT / 2)."""
    _target_: str = "gradgroup.data.cityscapes.CityscapesDataModule"
    root: Optional[str] = None
    cache_dir: Optional[str] = None  # None: $GRADGROUP_DATA_CACHE, else one place per user (data/synthetic/cache.py)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    train_hw: List[int] = field(default_factory=lambda: [128, 256])   # [h, w] crop fed to the network in training
    input_hw: List[int] = field(default_factory=lambda: [128, 256])   # [h, w] val/test images (train images resized to it first)
    label_hw: List[int] = field(default_factory=lambda: [128, 256])   # [h, w] scored GT when label_resolution=label_hw
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    batch_size: int = 8
    eval_batch_size: int = 8
    num_workers: int = 2
    limit_train: Optional[int] = None  # an evenly spaced subset of the train split (null: all)
    limit_val: Optional[int] = None
    # quick: decode labels, check image PNG checksums | full: decode every pair | none; stamped in cache_dir
    validate: ValidateMode = ValidateMode.quick
    test_split: str = "val"            # Cityscapes test labels are withheld, so "test" scores val by default
    # ground truth scored at: full (stored GT, the Cityscapes benchmark, 2048x1024) | half (GT / 2, the
    # paper) | label_hw (resized to label_hw)
    label_resolution: LabelResolution = LabelResolution.label_hw


# ----------------------------------------------------------------------------- training
@dataclass
class OptimConfig:                 # ERFNet's reference recipe (docs/paper.md section 5)
    lr: float = 5.0e-4
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1.0e-8
    weight_decay: float = 1.0e-4
    poly_power: float = 0.9
    encoder_lr: Optional[float] = None   # phase 2 of the paper: e.g. 5e-20 for the first `encoder_lr_epochs`
    encoder_lr_epochs: int = 0


@dataclass
class LossConfig:
    # erfnet (ERFNet's Cityscapes weights) | histogram (ENet's, from the train labels) | none;
    # data/class_weights.py
    weights: LossWeights = LossWeights.erfnet


@dataclass
class EvalConfig:
    # Which weights the final test uses. `last` by default: the val split is also what we report on, so
    # picking the best epoch on it would flatter every model (and a gradual model's best epoch may predate
    # alpha = 0).
    checkpoint: CheckpointChoice = CheckpointChoice.last


@dataclass
class ComplexityConfig:
    input_hw: List[int] = field(default_factory=lambda: [512, 1024])   # 1024x512 as in the paper
    convention: Convention = Convention.exact   # exact (MACs performed) | paper (transposed convs at output resolution)


@dataclass
class CSVLoggerConfig:             # appends, so a run resumed in place keeps its whole history (training/resume.py)
    _target_: str = "gradgroup.training.resume.AppendingCSVLogger"
    _partial_: bool = True
    _convert_: str = "all"
    name: str = "csv"


@dataclass
class WandbConfig:
    """Lightning's WandbLogger; the run is started by training/wandb_run.py (docs/wandb.md). mode, project and
    entity default to WANDB_MODE, WANDB_PROJECT, WANDB_ENTITY (else offline, gradgroup, none); set here they win."""
    _target_: str = "pytorch_lightning.loggers.WandbLogger"
    _partial_: bool = True
    _convert_: str = "all"
    # offline: runs written under the run dir (`wandb sync` uploads them later) | online | disabled
    mode: WandbMode = env_default("mode")  # type: ignore[assignment]  (an interpolation, checked on use)
    project: str = env_default("project")
    entity: Optional[str] = env_default("entity")
    group: Optional[str] = None        # null: one per sweep, from its dir (common/wandb_names.py sweep_group)
    name: Optional[str] = None         # null: the sweep's varying overrides and the seed
    id: Optional[str] = None           # null: derived from the run dir, so every attempt resumes one run
    tags: List[str] = field(default_factory=list)   # added to table, family, arm, part, block, groups
    notes: Optional[str] = None
    save_code: bool = False
    log_model: Any = False             # false | true (checkpoints at the end) | all (every checkpoint): artifacts


@dataclass
class LoggerConfig:
    """Loggers, partial: the procedure adds each phase's save dir. CSV always (null turns it off); wandb
    offline by default, `disabled` off."""
    csv: Optional[CSVLoggerConfig] = field(default_factory=CSVLoggerConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)


@dataclass
class GradualGroupingConfig:
    _target_: str = "gradgroup.grouping.callback.GradualGrouping"
    _convert_: str = "all"
    decay_fraction: Optional[float] = 0.5   # alpha 1 -> 0 over this fraction of the epochs before fine-tuning ...
    decay_epochs: Optional[float] = None    # ... or over this many epochs (set one of the two, the other null)
    finetune_epochs: int = 0           # epochs at alpha = 0 after the decay (the rest of the decay window is at 0 too)
    dense_epochs: float = 0.0          # epochs at alpha = 1 before the decay
    shape: ScheduleShape = ScheduleShape.linear   # grouping/schedules.py SHAPES: linear | cosine | step | exponential
    per: SchedulePer = SchedulePer.step           # step | epoch: how often alpha is updated
    steps: int = 4                     # for shape=step
    rate: float = 5.0                  # for shape=exponential
    input_hw: Any = "${complexity.input_hw}"      # [H, W] of the logged effective GMACs; null: not logged
    convention: Any = "${complexity.convention}"  # the MAC counting convention of those GMACs


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
class ComputeConfig:              # how training runs on the device, not what it computes (docs/gpu.md)
    channels_last: bool = False   # NHWC weights and batches while fitting (what GPU tensor cores prefer)
    compile: bool = False         # torch.compile the training forward; val/test/conversion stay eager
    compile_mode: CompileMode = CompileMode["default"]


@dataclass
class TrainConfig:
    # What this run is: `name` is the experiment choice itself (set in conf/train.yaml), its table labels,
    # and `paper`, the paper's printed numbers for the row.
    name: str = MISSING
    label: str = "ERFNet"
    family: str = "ERFNet"
    table: str = ""
    arm: Optional[str] = None
    paper: Optional[PaperRow] = None
    preset_name: Optional[str] = None
    seed: int = 0
    # torch intra-op threads for this job; null = SLURM's cpus per task in a SLURM job, else torch's default
    threads: Optional[int] = None
    ckpt_path: Optional[str] = None    # resume this run from a Lightning checkpoint (<run_dir>/checkpoints/last.ckpt)

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    complexity: ComplexityConfig = field(default_factory=ComplexityConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)  # trainer.precision: config/checks.py
    # Open nodes: any Lightning Trainer keyword, and the procedure's own keys (each procedure class
    # checks its keyword arguments when it is instantiated).
    trainer: Dict[str, Any] = field(default_factory=dict)
    module: Dict[str, Any] = field(default_factory=dict)
    callbacks: Dict[str, Any] = field(default_factory=dict)
    procedure: Dict[str, Any] = field(default_factory=dict)


def register() -> None:
    """Put the schema in Hydra's ConfigStore (idempotent); conf/train.yaml lists it first."""
    ConfigStore.instance().store(name="schema", node=TrainConfig)
