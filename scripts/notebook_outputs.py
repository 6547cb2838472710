"""Make an executed notebook small enough to commit with its outputs (`make notebook-commit`).

    python scripts/notebook_outputs.py NOTEBOOK.ipynb [--colors 128]

Every PNG output is re-encoded as an optimized palette PNG (Pillow's quantize: at most --colors colours,
which line plots and heatmaps need no more of), and the per-cell execution timestamps are dropped, so
GitHub renders the plots without running anything and a re-run changes only what the data changed.
Prints the notebook's size before and after.
"""
from __future__ import annotations

import argparse
import base64
import io
import sys
from pathlib import Path

import nbformat
from PIL import Image


def compress_png(data: str, colors: int) -> str:
    """A base64 PNG as a base64 palette PNG; the original when that is not smaller."""
    raw = base64.b64decode(data)
    image = Image.open(io.BytesIO(raw))
    image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode() if out.tell() < len(raw) else data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("--colors", type=int, default=128, help="palette size of each PNG (default 128)")
    args = p.parse_args(argv)
    before = args.notebook.stat().st_size
    nb = nbformat.read(args.notebook, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output["data"]["image/png"] = compress_png(output["data"]["image/png"], args.colors)
    nbformat.write(nb, args.notebook)
    print(f"{args.notebook}: {before / 1024:.0f} KiB -> {args.notebook.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
