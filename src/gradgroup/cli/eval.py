"""`gradgroup-eval SOURCE [key=value ...] [--official]`: score a checkpoint or ONNX model on a split, no training.

SOURCE is a run dir, a Lightning .ckpt, a converted.pt or an exported .onnx (cli/sources.py). The split is
`data.test_split` (val by default: Cityscapes' test labels are withheld) at `data.label_resolution`, which
eval defaults to `full` (the Cityscapes benchmark's 2048x1024 ground truth; the paper's is `half`, training's
default `label_hw`). Writes <out>/eval.json (the metrics.json keys that apply, per-class IoU, pixel accuracy,
the label resolution, the source) and <out>/confusion.png; `--official` also writes the predictions as
labelId PNGs and scores them with cityscapesscripts' evaluator (inference/official.py), recording both.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import require_extra
from .report import reports_user_errors
from ..common.records import Status

PROG = "gradgroup-eval"
# metrics.json keys that describe the run and still apply to an eval of its weights
RUN_KEYS = ("experiment", "label", "family", "table", "arm", "seed", "block", "groups", "gradual", "preset",
            "paper", "params", "gmacs", "gmacs_convention", "input_hw")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].strip("`"))
    p.add_argument("source", help="run dir, Lightning .ckpt, converted.pt or exported .onnx")
    p.add_argument("overrides", nargs="*", help="config overrides key=value, e.g. data.root=/data/cityscapes "
                                                "data.label_resolution=half")
    p.add_argument("--official", action="store_true", help="also score with cityscapesscripts' own evaluator")
    p.add_argument("--out", help="output folder (default: <run dir>/eval/<weights name>, or ./eval-<name>)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_intermixed_args(argv)  # options may come after the positional overrides


@reports_user_errors(PROG)
def main(argv=None) -> None:
    args = parse_args(argv)
    if args.official:
        require_extra("cityscapes", f"{PROG} --official")
    # Lazy: torch, Lightning and the data stack load only when an evaluation really starts (--help stays fast).
    from ..common.atomic import atomic_write_json
    from ..config.build import build
    from ..common.scores import class_iou_record
    from ..inference.evaluate import evaluate
    from ..inference.report import plot_confusion, resolution_text
    from .sources import build_predictor, device_name, load_config, resolve_source

    src = resolve_source(args.source)
    cfg = load_config(src, args.overrides, {"data.label_resolution": "full"})
    device = device_name(args.device)
    predictor, _ = build_predictor(src, cfg, device)
    if getattr(predictor, "input_hw", None):  # an ONNX graph with a static input size dictates it
        cfg.data.input_hw = list(predictor.input_hw)
    datamodule = build(cfg.data, progress=not args.no_progress)
    datamodule.prepare_data()
    datamodule.setup("test")
    dataset = datamodule.datasets["test"]
    out = Path(args.out) if args.out else (src.run_dir / "eval" / src.weights.stem if src.run_dir
                                           else Path.cwd() / f"eval-{src.weights.stem}")
    if args.official:
        from ..inference.official import OfficialWriter  # the [cityscapes] extra
    official = OfficialWriter(dataset.pairs, out / "official", datamodule.eval_batch_size,
                              original_gt=datamodule.label_resolution == "full") if args.official else None
    result = evaluate(predictor, datamodule.test_dataloader(), datamodule.num_classes, datamodule.ignore_index,
                      on_batch=official, progress=not args.no_progress)
    record = {"status": Status.OK, **{k: src.record[k] for k in RUN_KEYS if k in src.record},
              "source": str(src.given), "weights": str(src.weights), "source_kind": src.kind,
              "backend": predictor.backend, "device": device, "split": datamodule.test_split,
              "images": result["images"], **datamodule.label_resolution_record("test"),
              "miou": result["miou"], "pixel_accuracy": result["pixel_accuracy"],
              "class_iou": class_iou_record(result["iou"], datamodule.class_names),
              "confusion_matrix": result["confmat"].tolist()}
    if src.record.get("miou") is not None:  # the run's own test, and what it was scored at, for comparison
        record["run_miou"] = {"miou": src.record["miou"], "label_resolution": src.record.get("label_resolution"),
                              "label_hw": src.record.get("label_hw")}
    if official is not None:
        record["official"] = {**official.score(), "predictions": str(official.out_dir / "labelIds"),
                              "evaluator": "cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling"}
    res = resolution_text(record)
    atomic_write_json(out / "eval.json", record)
    plot_confusion(result["confmat"], datamodule.class_names, out / "confusion.png",
                   f"{src.weights.name} on {record['split']}: mIoU {record['miou']:.2f} % (labels {res})")
    print(f"mIoU {record['miou']:.2f} % at label resolution {res} on {record['split']} "
          f"({record['images']} images, {predictor.backend})")
    if official is not None:
        print(f"official cityscapesscripts mIoU {record['official']['miou']:.2f} % on the same predictions")
    print(f"-> {out / 'eval.json'}, {out / 'confusion.png'}")


if __name__ == "__main__":
    main()
