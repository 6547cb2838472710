"""Reading a sweep's files: every job's metrics.json, and the sweep's latency.json when it has one.

Data flows one way: training jobs write one metrics.json each (status, mIoU, params, GMACs, ...), and
`gradgroup-bench --sweep DIR` writes DIR/latency.json; the results layer reads only these files, never
checkpoints, logger internals or the models, so it imports nothing from training, models or measure.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path

from ..common.processes import pid_alive
from ..common.records import RECORD, RecordError, Status, is_ok, read_record_file  # noqa: F401  (is_ok: the results layer asks it here)
from ..errors import GradgroupError
from .format import ago, num

LATENCY_FILE = "latency.json"


def load_runs(sweep_dirs) -> list[dict]:
    """Every metrics.json below the sweep dirs (any depth: Hydra multirun nests job dirs), in path order,
    each read by common/records.py.

    Each record gets ``_path``. A file that is unreadable or not a JSON object (a job killed mid-write)
    becomes a failed record, so it is listed rather than crashing the summary. A missing dir, or one
    without any metrics.json, raises GradgroupError.
    """
    runs = []
    for d in map(Path, sweep_dirs):
        if not d.is_dir():
            raise GradgroupError(f"sweep dir {d} does not exist (or is not a directory)")
        paths = sorted(d.rglob(RECORD))
        if not paths:
            raise GradgroupError(f"no {RECORD} found under {d}: is this a sweep or run dir?")
        for p in paths:
            try:
                run = read_record_file(p).to_dict()
            except RecordError as err:  # JSON, but not a record this version reads: say which key
                run = {"status": Status.FAILED, "error": f"invalid {RECORD}: {err}",
                       "experiment": str(p.parent.relative_to(d)) or d.name}
            except (OSError, ValueError):
                run = {"status": Status.FAILED, "error": f"unreadable {RECORD}: {p}",
                       "experiment": str(p.parent.relative_to(d)) or d.name}
            run["_path"] = str(p)
            runs.append(mark_if_gone(run))
    return runs


def mark_if_gone(run: dict) -> dict:
    """A record still "running" whose process is gone (SIGKILL, OOM killer, power loss) is "killed".

    Checked for records written on this host (the pid and host travel in metrics.json); a record from
    another host keeps "running" and its heartbeat (refreshed every epoch) says how fresh it is."""
    pid = run.get("pid")
    if run.get("status") != Status.RUNNING or not isinstance(pid, int) or run.get("host") != socket.gethostname():
        return run
    if not pid_alive(pid):
        run = {**run, "status": Status.KILLED,
               "error": f"killed: process {pid} on {run['host']} is gone but its record says running "
                        f"(last heartbeat {ago(run.get('heartbeat'))}); resume it with "
                        f"ckpt_path=<run_dir>/checkpoints/last.ckpt"}
    return run


def _one_backend(data: dict, backend: str | None, path) -> tuple[dict, str | None]:
    """The flat {experiment: {...}, "_meta": {...}} of one backend of a latency.json's content."""
    by = data.get("by_backend")
    if not isinstance(by, dict):
        return {}, (f"note: ignoring {path}: not what gradgroup-bench --sweep writes (no by_backend); "
                    "rerun gradgroup-bench --sweep")
    meta = data.get("_meta") if isinstance(data.get("_meta"), dict) else {}
    chosen = backend or meta.get("fastest_fp32") or next(iter(by), None)
    if chosen not in by:
        return {}, f"note: {path} has no {chosen} latency (it has {sorted(by)}); choose one with --latency-backend"
    extra = {"matmul_gflops": (data.get("matmul") or {}).get("gflops")}
    return {**by[chosen], "_meta": {**meta, **extra, "backend": chosen}}, None


def latency_view(data: dict, backend: str | None = None) -> dict:
    """One backend's flat view, sizes keyed W x H: of a latency.json's content, or `load_latency`'s view
    (already flat) as it is."""
    if not isinstance(data, dict):
        return {}
    return _one_backend(data, backend, "latency.json")[0] if "by_backend" in data else data


def load_latency(sweep_dirs, backend: str | None = None) -> tuple[dict, list[str]]:
    """One backend's latency from the sweep dirs' latency.json files, merged, and notes for the reader.

    The file is what the benchmark measured, side by side with ERFNet in one process
    (`gradgroup-bench --sweep`): ``{"by_backend": {backend: {experiment: {"ms": {"WxH": float},
    "iqr_ms", "speedup_vs_erfnet", "ratio_vs_erfnet", "gflops"}}}, "matmul", "_meta": {..., "fastest_fp32"}}``.
    `backend` None takes each file's fastest fp32 backend. A later dir's entry for the same experiment
    wins; "_meta" is the first file's, with "backend" naming the backend read.
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
        data, note = _one_backend(data, backend, path)
        if note:
            notes.append(note)
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
