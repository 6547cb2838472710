"""`gradgroup-export`: a trained run (or an experiment's random weights) as a deployable ONNX package.

    gradgroup-export RUN_DIR [--int8] [--calib N] [--val N] [--out DIR] [--wandb-artifact [--wandb MODE]]
    gradgroup-export experiment=NAME [OVERRIDE...] [--int8] [--out DIR]

docs/paper.md section 5 (runtime). Takes the deployable model (gradual convs already grouped): a run
dir's checkpoints/converted.pt, else its checkpoints/last.ckpt; or, for experiment=NAME, random weights
(latency does not depend on them). Applies the exact inference rewrites of gradgroup.deploy (BN folded,
sub-pixel output layer) and writes DIR/model.onnx ("image" -> "logits"), model.labels.onnx
("image" -> "labels") and export.json, which records max_abs_diff and argmax agreement against PyTorch on
real val images of the run's data module. --int8 adds model.int8.onnx (ONNX Runtime static quantization
calibrated on N train images) and the mIoU it costs. DIR defaults to RUN_DIR/export (or export/NAME).
--wandb-artifact logs the ONNX files and export.json as the artifact `onnx-<run id>` of the job's own wandb
run (the id its metrics.json names; docs/wandb.md), once the export passed its check.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from omegaconf import OmegaConf

from ..config.build import build, deployable_model
from ..common.records import RECORD, read_record
from ..common.wandb_names import wandb_of
from ..config.compose import compose_config, register_resolvers
from ..errors import ConfigError, require_extra
from .report import reports_user_errors
from .wandb_flags import add_wandb_mode_flag, wandb_mode

PROG = "gradgroup-export"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("target", metavar="RUN_DIR|experiment=NAME", help="a run dir, or experiment=NAME for random weights")
    p.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="config overrides with experiment=NAME "
                   "(e.g. preset=smoke)")
    p.add_argument("--out", metavar="DIR", help="output dir (default: RUN_DIR/export, or export/NAME)")
    p.add_argument("--int8", action="store_true", help="also write model.int8.onnx, calibrated on train images")
    p.add_argument("--calib", type=int, default=32, metavar="N", help="train images to calibrate int8 on (default 32)")
    p.add_argument("--val", type=int, default=None, metavar="N", help="val images to check on (default: all the "
                   "data module loads)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads")
    p.add_argument("--wandb-artifact", action="store_true", help="log the ONNX files and export.json as an "
                   "artifact of the job's wandb run (RUN_DIR's metrics.json names it)")
    add_wandb_mode_flag(p, "--wandb-artifact's", "RUN_DIR")
    return p.parse_args(argv)


def job_wandb(args) -> tuple[dict, str] | None:
    """(the job's record, the wandb mode) when --wandb-artifact asks to log the export; checked before exporting."""
    if not args.wandb_artifact:
        return None
    mode = wandb_mode(args)
    if args.target.startswith("experiment="):
        raise ConfigError("--wandb-artifact logs into a trained job's wandb run: give its RUN_DIR, not experiment=NAME")
    record = read_record(args.target)
    if record is None or wandb_of(record) is None:
        raise ConfigError(f"{Path(args.target) / RECORD} names no wandb run (the job ran with logger.wandb.mode="
                          "disabled, or has no readable record): export without --wandb-artifact")
    if mode == "disabled":
        raise ConfigError("--wandb-artifact with wandb mode disabled logs nothing: pass --wandb offline|online "
                          "or set WANDB_MODE")
    return record.to_dict(), mode


def load_run(run_dir: Path):
    """(config, deployable model with the run's weights, where they came from) of a run dir."""
    from ..inference.predictor import deployable_from_run  # torch only past --help

    cfg_file = run_dir / "config.yaml"
    if not run_dir.is_dir() or not cfg_file.is_file():
        raise ConfigError(f"{run_dir} is not a run dir (no config.yaml in it); give the dir of one training job, "
                          "e.g. outputs/<date>/<time> or multirun/<sweep>/<stamp>/<job>, or experiment=NAME")
    register_resolvers()
    cfg = OmegaConf.load(cfg_file)
    model, source = deployable_from_run(run_dir, build(cfg.model))
    return cfg, model, {"checkpoint": str(source), "experiment": cfg.get("name")}


@reports_user_errors(PROG)
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require_extra("deploy", PROG)
    job = job_wandb(args)
    import torch  # torch only past --help

    from ..deploy.export import first_batches
    from ..deploy.package import export_deployment

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.target.startswith("experiment="):
        name = args.target.split("=", 1)[1]
        cfg = compose_config([args.target, *args.overrides])
        torch.manual_seed(0)
        model = deployable_model(cfg)
        source, out = {"checkpoint": None, "experiment": name, "weights": "random"}, Path(args.out or f"export/{name}")
    else:
        if args.overrides:
            raise ConfigError(f"overrides {args.overrides} apply to experiment=NAME only; a run dir has its config")
        cfg, model, source = load_run(Path(args.target))
        out = Path(args.out or Path(args.target) / "export")
    data = build(cfg.data)
    data.prepare_data()
    data.setup("fit" if args.int8 else "validate")
    val = first_batches(data.val_dataloader(), args.val)
    calib = [b[0] for b in first_batches(data.train_dataloader(), args.calib)] if args.int8 else None
    rec = export_deployment(model, out, val, data.num_classes, calib, args.threads, source)
    print(json.dumps({k: rec[k] for k in ("fp32", "labels", "int8", "pytorch_miou", "passed") if k in rec}, indent=2))
    print(f"wrote {out}/model.onnx, model.labels.onnx{', model.int8.onnx' if args.int8 else ''}, export.json",
          file=sys.stderr)
    if not rec["passed"]:
        print(f"{PROG}: the fp32 export is outside tolerance (max_abs_diff <= {rec['thresholds']['max_abs_diff']}, "
              f"argmax agreement >= {rec['thresholds']['argmax_agreement']}): see {out}/export.json", file=sys.stderr)
        return 1
    if job:
        _log_artifact(job, Path(args.target), out, rec)
    return 0


def _log_artifact(job: tuple[dict, str], run_dir: Path, out: Path, rec: dict) -> None:
    from ..results.wandb_jobs import log_job_artifact  # wandb takes seconds to import: only when logging
    from .quiet import install as quiet_console

    quiet_console()
    record, mode = job
    files = [out / name for name in rec["files"].values()] + [out / "export.json"]
    name = f"onnx-{record['wandb']['id']}"
    run_id = log_job_artifact(record, run_dir, mode, name, files,
                              {k: rec[k] for k in ("fp32", "labels", "int8", "pytorch_miou", "input_size") if k in rec})
    print(f"wandb: artifact {name} ({', '.join(f.name for f in files)}) logged to run {run_id} ({mode})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
