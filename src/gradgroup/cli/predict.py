"""`gradgroup-predict SOURCE INPUTS... --out DIR [--format color,labelids,overlay]`: masks for any images.

SOURCE is a run dir, a Lightning .ckpt, a converted.pt or an exported .onnx (cli/sources.py); INPUTS are
image files, folders (recursive) or quoted globs of any size. Images are resized to the network's input
(`data.input_hw` of the run, or the ONNX graph's static size), logits resized back to each image's size.
Outputs, one folder per format (inference/outputs.py): labelIds/<stem>_pred_labelIds.png (Cityscapes
labelIds: the test-server submission format), color/<stem>_pred_color.png (Cityscapes palette),
overlay/<stem>_pred_overlay.png.
"""
from __future__ import annotations

import argparse
import os

from .report import reports_user_errors

PROG = "gradgroup-predict"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].strip("`"))
    p.add_argument("source", help="run dir, Lightning .ckpt, converted.pt or exported .onnx")
    p.add_argument("inputs", nargs="+", help="image files, folders or quoted globs; key=value items override "
                                             "the config (e.g. data.input_hw=[512,1024])")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", default="color,labelids,overlay", help="comma-separated: color,labelids,overlay")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--workers", type=int, default=2, help="image-reading worker processes (0: in-process)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default auto)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_intermixed_args(argv)  # options may come after the positional overrides


@reports_user_errors(PROG)
def main(argv=None) -> None:
    args = parse_args(argv)
    # Lazy: torch and the model stack load only when a prediction really starts (--help stays fast).
    from ..inference.predict import check_formats, expand_inputs, predict_files
    from .sources import build_predictor, device_name, load_config, resolve_source

    formats = check_formats(args.format.split(","))
    overrides = [i for i in args.inputs if "=" in i and not os.path.exists(i)]
    files = expand_inputs([i for i in args.inputs if i not in overrides])
    src = resolve_source(args.source)
    cfg = load_config(src, overrides)
    device = device_name(args.device)
    predictor, _ = build_predictor(src, cfg, device)
    input_hw = getattr(predictor, "input_hw", None) or tuple(cfg.data.input_hw)
    norm = cfg.data.normalize
    written = predict_files(predictor, files, args.out, formats, input_hw, list(norm.mean), list(norm.std),
                            batch_size=args.batch_size, workers=args.workers, progress=not args.no_progress)
    print(f"{len(files)} images -> {len(written)} files in {args.out} ({', '.join(formats)}; "
          f"input {input_hw[1]}x{input_hw[0]}, {predictor.backend} on {device})")


if __name__ == "__main__":
    main()
