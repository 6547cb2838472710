"""Reading a sweep's files: every job's metrics.json, and the sweep's latency.json when it has one.

Data flows one way: training jobs write one metrics.json each (status, mIoU, params, GMACs, ...), and
`gradgroup-bench --sweep DIR` writes DIR/latency.json; the results layer reads only these files, never
checkpoints, logger internals or the models, so it imports nothing from training, models or measure.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import GradgroupError
from .format import num

LATENCY_FILE = "latency.json"


def load_runs(sweep_dirs) -> list[dict]:
    """Every metrics.json below the sweep dirs (any depth: Hydra multirun nests job dirs), in path order.

    Each record gets ``_path``. A file that is unreadable or not a JSON object (a job killed mid-write)
    becomes a failed record, so it is listed rather than crashing the summary. A missing dir, or one
    without any metrics.json, raises GradgroupError.
    """
    runs = []
    for d in map(Path, sweep_dirs):
        if not d.is_dir():
            raise GradgroupError(f"sweep dir {d} does not exist (or is not a directory)")
        paths = sorted(d.rglob("metrics.json"))
        if not paths:
            raise GradgroupError(f"no metrics.json found under {d}: is this a sweep or run dir?")
        for p in paths:
            try:
                run = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(run, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError):
                run = {"status": "failed", "error": f"unreadable metrics.json: {p}",
                       "experiment": str(p.parent.relative_to(d)) or d.name}
            run["_path"] = str(p)
            runs.append(run)
    return runs


def is_ok(run: dict) -> bool:
    """A finished run with a number to report."""
    return run.get("status") == "ok" and num(run.get("miou")) is not None


def load_latency(sweep_dirs) -> tuple[dict, list[str]]:
    """The sweep dirs' latency.json files merged, and one note per dir without a usable one.

    The file is what the benchmark measured, side by side with ERFNet in one process:
    ``{experiment: {"ms": {"HxW": float}, "ratio_vs_erfnet": {...}, "speedup_vs_erfnet": {...}},
    "_meta": {device, threads, rounds, warmup, batch, torch}}``. A later dir's entry for the same
    experiment wins; "_meta" is the first file's.
    """
    measured: dict = {}
    metas: list[tuple[str, dict]] = []
    notes = []
    for d in map(Path, sweep_dirs):
        path = d / LATENCY_FILE
        if not path.is_file():
            notes.append(f"note: no {LATENCY_FILE} in {d}; run gradgroup-bench --sweep {d} "
                         "to add measured latency")
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            # Latency is an extra column: a broken file costs that column, never the table.
            notes.append(f"note: ignoring unreadable {path} ({e}); rerun gradgroup-bench --sweep {d}")
            continue
        meta = data.pop("_meta", None)
        if isinstance(meta, dict):
            metas.append((str(path), meta))
        measured.update(data)
    if metas:
        measured["_meta"] = metas[0][1]
        if any(m != metas[0][1] for _, m in metas[1:]):
            notes.append("note: the latency.json files were measured under different settings; "
                         f"the table names those of {metas[0][0]}")
    return measured, notes
