"""Scoring predictions with cityscapesscripts' own pixel-level evaluator (evalPixelLevelSemanticLabeling).

The benchmark's numbers come from that script (Cordts et al., CVPR 2016); running it on the very PNGs we
wrote checks that the project's mIoU (evaluate.py) is the benchmark's. Its per-class IoU ignores GT pixels
of labels with ignoreInEval (our 255), does not count predictions on them, and leaves a class absent from
GT and prediction (NaN) out of the average: the same convention as ours (pinned by tests/test_eval_official.py).

Compatibility layer: cityscapesscripts 2.x calls `np.in1d`, which numpy 2 removed (NumPy 2.0 migration
guide: use `np.isin`). Rather than pin numpy < 2 for the whole project, the evaluator module alone gets a
numpy namespace with `in1d` restored as `np.isin(...).ravel()` (what `in1d` returned); numpy itself and
every other module are untouched. With numpy < 2 nothing is patched.
"""
from __future__ import annotations

import contextlib
import io
import math
import types
from pathlib import Path

import numpy as np
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval

from ..data.labels import CLASS_NAMES
from ..errors import DataError
from .outputs import output_path, output_stem, write_label_ids


def _numpy_with_in1d() -> types.ModuleType:
    compat = types.ModuleType("numpy_in1d_compat", "numpy with in1d restored for cityscapesscripts")
    compat.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    compat.in1d = lambda ar1, ar2, assume_unique=False, invert=False: np.isin(
        ar1, ar2, assume_unique=assume_unique, invert=invert).ravel()
    return compat


if not hasattr(np, "in1d"):
    cs_eval.np = _numpy_with_in1d()


def official_scores(pred_files, gt_files, export_file, instance_level: bool = False) -> dict:
    """Run the official evaluator on (prediction labelId PNG, GT labelId PNG) pairs.

    Returns {"miou": %, "class_iou": {name: % or None}, "iiou": % or None}; the evaluator's JSON goes to
    `export_file`. `instance_level` also scores iIoU (needs *_gtFine_instanceIds.png beside each GT)."""
    args = cs_eval.CArgs()
    args.__dict__.update(vars(cs_eval.args))  # the module's defaults, without mutating its global
    args.evalInstLevelScore, args.evalPixelAccuracy = bool(instance_level), False
    args.quiet, args.JSONOutput, args.exportFile = True, True, str(export_file)
    args.colorized, args.bold, args.nocol = False, "", ""
    Path(export_file).parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = cs_eval.evaluateImgLists([str(p) for p in pred_files], [str(g) for g in gt_files], args)
    except SystemExit:  # the script reports problems with printError -> sys.exit
        raise DataError(f"cityscapesscripts' evaluator stopped: {out.getvalue().strip().splitlines()[-1:]}; "
                        f"predictions in {Path(pred_files[0]).parent if pred_files else '?'}") from None
    pct = lambda v: None if v is None or math.isnan(v) else round(float(v) * 100, 3)  # noqa: E731
    classes = result["classScores"]
    iiou = result["averageScoreInstClasses"] if instance_level else None
    miou = result["averageScoreClasses"]
    return {"miou": None if math.isnan(miou) else float(miou) * 100, "class_iou": {n: pct(classes[n]) for n in CLASS_NAMES},
            "iiou": pct(iiou)}


class OfficialWriter:
    """`evaluate(on_batch=...)` hook: writes each prediction as a labelId PNG and notes its ground truth.

    The ground truth is the dataset's own *_gtFine_labelIds.png when the split is scored at full
    resolution (the benchmark's setting, so the official script reads the original files); at another
    label resolution it is the resized ground truth the project scored, written as labelIds (ignore as
    0, "unlabeled")."""

    def __init__(self, pairs, out_dir, batch_size: int, original_gt: bool):
        self.pairs, self.out_dir, self.batch_size = list(pairs), Path(out_dir), int(batch_size)
        self.original_gt = original_gt
        self.pred_files: list[Path] = []
        self.gt_files: list[Path] = []

    def __call__(self, batch_index: int, pred, target) -> None:
        for j in range(pred.shape[0]):
            img, lab = self.pairs[batch_index * self.batch_size + j]
            stem = output_stem(img)
            path = output_path(self.out_dir, stem, "labelids")
            write_label_ids(pred[j].numpy(), path)
            self.pred_files.append(path)
            if self.original_gt:
                self.gt_files.append(Path(lab))
            else:
                gt = self.out_dir / "gt" / Path(lab).name
                write_label_ids(target[j].numpy(), gt)
                self.gt_files.append(gt)

    def instance_files_exist(self) -> bool:
        return all(Path(str(g).replace("labelIds", "instanceIds")).is_file() for g in self.gt_files)

    def score(self) -> dict:
        return official_scores(self.pred_files, self.gt_files, self.out_dir / "resultPixelLevelSemanticLabeling.json",
                               instance_level=self.original_gt and self.instance_files_exist())
