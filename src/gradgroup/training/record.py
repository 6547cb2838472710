"""The run record: metrics.json, the one file per job that the table command reads.

Written at the start of a job (status "running"), and rewritten when it ends with "ok" or "failed" plus
the error, so a crashed or killed job still leaves a record that says what it was.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


def path_safe(text: str) -> str:
    """A name usable in a directory name: 'table3/dg4' -> 'table3-dg4'."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "-", str(text)).strip("-") or "run"


def base_record(cfg: DictConfig) -> dict:
    """What the job is, known before anything can fail."""
    paper = cfg.get("paper")
    return {
        "status": "running",
        "error": None,
        "experiment": cfg.get("name"),
        "label": cfg.get("label"),
        "family": cfg.get("family"),
        "table": cfg.get("table") or "",
        "arm": cfg.get("arm"),
        "seed": cfg.get("seed"),
        "block": cfg.model.encoder.block,
        "groups": cfg.model.encoder.groups,
        "gradual": bool(cfg.model.encoder.gradual),
        "preset": cfg.get("preset_name"),
        "paper": OmegaConf.to_container(paper) if isinstance(paper, DictConfig) else paper,
        "gmacs_convention": cfg.complexity.convention,
        "input_hw": list(cfg.complexity.input_hw),
    }


def write_record(run_dir: Path, record: dict) -> Path:
    """Atomically (write then rename) so a reader never sees half a file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "metrics.json"
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=False, default=float) + "\n")
    tmp.replace(path)
    return path
