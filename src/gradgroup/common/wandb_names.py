"""What identifies a wandb run, the same in every command (docs/wandb.md): its group (one per sweep), job
type (the part of a study), id (one per run dir), display name (what varies between a sweep's jobs), and
the environment defaults (WANDB_MODE, WANDB_PROJECT, WANDB_ENTITY) that `logger.wandb.*` and the light
commands' flags override. Standard library only: training and the light commands both read it.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import Path

ENV = {"mode": "WANDB_MODE", "project": "WANDB_PROJECT", "entity": "WANDB_ENTITY"}
DEFAULTS = {"mode": "offline", "project": "gradgroup", "entity": None}
# A sweep dir's timestamp part: multirun/<sweep>/<YYYY-MM-DD_HH-MM-SS[-fraction]>[/<part>...]
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}")
ID_CHARS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # what a wandb run id may hold (no / \ # ? % : or space)
MAX_NAME = 128  # wandb's limit on group and display names
MAX_PART = 40  # one override in a run's name


def env_default(key: str) -> str:
    """The schema's default of `logger.wandb.<key>`: the environment variable, else the built-in default."""
    default = DEFAULTS[key]
    return f"${{oc.env:{ENV[key]},{'null' if default is None else default}}}"


def from_env(key: str, environ=None) -> str | None:
    """`key`'s value from the environment (an empty variable counts as unset), else the built-in default."""
    return (os.environ if environ is None else environ).get(ENV[key]) or DEFAULTS[key]


def sweep_group(sweep_dir) -> tuple[str, str | None]:
    """(group, part) of a sweep dir: the dir's timestamp with the name above it, and the path below it.

    `multirun/study/2026-12-07_10-00-00/primary` -> ("study-2026-12-07_10-00-00", "primary"): every part
    of a study (and the study dir itself) shares the group, while two sweeps started apart never do. A
    dir without a timestamp (a hand-named hydra.sweep.dir) gets its name and a digest of its absolute
    path, so two such dirs of the same name stay apart.
    """
    path = Path(os.path.abspath(sweep_dir))
    parts = path.parts
    for i in range(len(parts) - 1, 0, -1):
        if STAMP.match(parts[i]):
            return _cap(f"{parts[i - 1]}-{parts[i]}"), "/".join(parts[i + 1:]) or None
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return _cap(f"{path.name or 'sweep'}-{digest}"), None


def run_id(run_dir) -> str:
    """The wandb run id of a run dir: the same for every attempt of the job (kill and resume, SLURM requeue,
    a resumed sweep), so they all continue one wandb run."""
    return hashlib.sha1(os.path.realpath(run_dir).encode()).hexdigest()[:16]


def summary_run_id(out_dir, kind: str) -> str:
    """The id of the summary run a command logs for the sweep in `out_dir` (`kind`: table, study, search):
    rerunning the command (a table after its latency was measured) continues that run instead of adding one."""
    return hashlib.sha1(f"{os.path.realpath(out_dir)}#{kind}".encode()).hexdigest()[:16]


def record_summary(record: dict) -> dict:
    """A job record's scalars as its wandb run's summary (params and GMACs among them); a Status as its word.
    Keys starting with `_` (what a reader added, such as `_path`) are not the record's."""
    return {k: str(v) if isinstance(v, str) else v for k, v in record.items()
            if isinstance(v, (int, float, str)) and not k.startswith("_")}


def check_run_id(value: str) -> bool:
    return bool(ID_CHARS.match(value))


def _split(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _short(text: str) -> str:
    return text if len(text) <= MAX_PART else text[:MAX_PART - 1] + "~"


def _cap(text: str) -> str:
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + "~"


def run_name(overrides: list[str], varying: set[str], seed, fallback: str) -> str:
    """A job's display name: the overrides that vary across its sweep, short, then its seed.

    The experiment shows as itself (`experiment=table3/dg4` -> `table3/dg4`), any other key by its last
    component (`grouping=gradual`, `optim.lr=0.001` -> `lr=0.001`); `fallback` (the experiment) when
    nothing but the seed varies, so a single run still says what it is.
    """
    parts = []
    for key, value in map(_split, overrides):
        if key in varying and key != "seed":
            parts.append(_short(value if key == "experiment" else f"{key.rsplit('.', 1)[-1].rsplit('/', 1)[-1]}={value}"))
    return _cap(" ".join((parts or [fallback]) + [f"seed{seed}"]))


def summary_target(records: list[dict], sweep_dir, mode: str | None = None, project: str | None = None,
                   entity: str | None = None) -> dict:
    """Where a sweep's summary run goes (gradgroup-table, the study's report): the project, entity and group
    its jobs' runs used (their records' `wandb` field, the most common), else the environment's defaults
    and the sweep dir's group; an explicit `mode`/`project`/`entity` (a command's flag) wins."""
    seen = [r["wandb"] for r in records if isinstance(r.get("wandb"), dict)]

    def used(key: str, default):
        values = Counter(w.get(key) for w in seen if key in w).most_common(1)
        return values[0][0] if values else default

    return {"mode": mode or from_env("mode"), "project": project or used("project", from_env("project")),
            "entity": entity or used("entity", from_env("entity")), "group": used("group", sweep_group(sweep_dir)[0])}


RECORDED = ("id", "project", "entity", "group", "name")  # the record's `wandb` field: how to find the run
INIT = RECORDED + ("job_type", "tags", "mode", "notes", "save_code", "dir")  # what wandb.init is given


def init_args(identity: dict) -> dict:
    """`wandb.init`'s arguments for a job's run (its `INIT` keys; absent ones None, wandb's default), resuming
    it under its id if it exists: every attempt of the job, and every later command that adds to its run
    (results/wandb_jobs.py), continues the one run."""
    return {**{k: identity.get(k) for k in INIT}, "resume": "allow"}


def wandb_of(record: dict) -> dict | None:
    """The record's `wandb` field when it names a run (an id), else None (the job ran without wandb)."""
    wb = record.get("wandb")
    return wb if isinstance(wb, dict) and wb.get("id") else None
