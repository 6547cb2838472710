"""Latency of each architecture of a search, measured once and cached in the sweep dir, and the roofline
bound that lets a search skip an architecture that cannot meet a latency budget before timing it.

Latency does not depend on weights (cli/bench.py): a freshly built deployable network is timed with the
gradgroup-bench conventions (measure/latency.py: batch 1, interleaved rounds, ERFNet timed alongside as the
reference of "speedup vs ERFNet", peak matmul and copy bandwidth in the same rounds for the roofline,
measure/roofline.py). The cache, `<sweep dir>/search/latency_cache.json`, maps an architecture key (the
deployed layer plan and decoder: `layers: starred` with `block: d` and three all-D stages are one key) to
its numbers, under a file lock, so processes sharing a sweep dir time each architecture once. The search
times a batch's new architectures before it launches the batch's training jobs, never alongside them.

Where the timing runs: in this process, or, given a `runner` (the sweeper's, under `hydra/launcher=slurm`:
jobs/slurm_call.py), as a job on a compute node, the kind of host the trials train on, not the login node
the search runs from. Either way each entry names the host that timed it and keeps the measurement's
warnings (a load average above the core count, a wide spread of rounds), so a number taken on a busy
host says so.
"""
from __future__ import annotations

import datetime
import json
import socket
from pathlib import Path
from typing import Callable, Mapping

from filelock import FileLock

from ..common.atomic import atomic_write_json
from ..deploy.runtimes import prepare_backend
from ..errors import ConfigError
from ..measure.complexity import complexity_report
from ..measure.latency import REFERENCE, measure_latency, parse_size, size_key
from ..measure.roofline import add_roofline, model_bound
from ..models.erfnet import layer_plan
from ..models.spec import ModelSpec

CACHE = "latency_cache.json"
SETTINGS = ("backend", "size", "output", "threads", "rounds", "warmup")


def arch_key(spec: ModelSpec) -> str:
    """The deployed architecture of a recipe: every replaced layer's kind and G, and the decoder."""
    enc = spec.encoder
    plan = layer_plan(enc.get("block", "nonbt1d"), enc.get("groups", 1), enc.get("layers", "none"), enc.get("stages"))
    layers = " ".join(f"{i}:{k}{g if g > 1 else ''}" for i, (k, g) in sorted(plan.items()) if k != "nonbt1d")
    return f"{layers or 'erfnet'} | decoder {spec.decoder.get('name', 'erfnet')}"


class LatencyCache:
    """Measured latency per architecture key, in `<sweep_dir>/search/latency_cache.json`."""

    def __init__(self, sweep_dir, *, backend: str, size: str, output: str, threads: int | None, rounds: int,
                 warmup: int, runner: Callable | None):
        """The settings are `hydra.sweeper.latency`, whose defaults live in the sweeper's config alone;
        `runner(fn, *args)` runs the timing elsewhere and waits for it (module doc; None: in this process)."""
        self.sweep_dir, self.runner = Path(sweep_dir), runner
        self.dir = Path(sweep_dir) / "search"
        self.path = self.dir / CACHE
        self.settings = {"backend": backend, "size": size_key(*parse_size(size)), "output": output,
                         "threads": threads, "rounds": int(rounds), "warmup": int(warmup)}
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(self.path) + ".lock")
        data = self.load()
        old = data.get("_settings")
        if old and {k: old.get(k) for k in SETTINGS} != self.settings:
            raise ConfigError(f"{self.path} was measured with {old}, this search asks for {self.settings} "
                              "(hydra.sweeper.latency): keep the settings of the sweep dir, or search into a new "
                              "hydra.sweep.dir")

    def load(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as e:
            raise ConfigError(f"{self.path} is not readable JSON ({e}); delete it to measure again") from None

    def entries(self) -> dict:
        return {k: v for k, v in self.load().items() if not k.startswith("_")}

    def get(self, key: str) -> dict | None:
        return self.entries().get(key)

    def host(self) -> dict | None:
        """{"peak_gflops", "bandwidth_gbs"} of the latest measurement in this sweep dir, or None."""
        return self.load().get("_host")

    def bound_ms(self, spec: ModelSpec) -> float | None:
        """The roofline bound of a recipe on this host (None before the first measurement)."""
        host = self.host()
        if host is None:
            return None
        w, h = parse_size(self.settings["size"])
        return model_bound(spec.deployable().build().eval(), (h, w), host["peak_gflops"], host["bandwidth_gbs"])["ms"]

    def measure(self, specs: Mapping[str, ModelSpec], log=print) -> dict:
        """Time the recipes whose key is not cached yet, side by side with ERFNet; returns every entry."""
        todo = {k: s for k, s in specs.items() if self.get(k) is None}
        if not todo:
            return self.entries()
        s = self.settings
        log(f"search: timing {len(todo)} new architecture(s) on {s['backend']} @ {s['size']} "
            f"{'as a SLURM job' if self.runner else 'here'} (no training runs meanwhile)")
        if self.runner is None:
            self.time_and_store(todo)
        else:
            self.runner(time_on_this_host, self.sweep_dir, self.settings, todo)
        entries = self.entries()
        timed = entries[next(iter(todo))]  # one measurement: its host and warnings are the batch's
        for w in timed.get("warnings", []):
            log(f"search: latency warning on {timed.get('timed_on')}: {w}")
        return entries

    def time_and_store(self, todo: Mapping[str, ModelSpec]) -> None:
        """Time `todo` here, with ERFNet in the same rounds, and add them to the cache file."""
        s = self.settings
        w, h = parse_size(s["size"])
        # ERFNet is the reference, timed in every batch: its own entry is that row, not a second copy of it.
        ref = arch_key(ModelSpec())
        models = {REFERENCE: ModelSpec().build().eval(),
                  **{k: spec.deployable().build().eval() for k, spec in todo.items() if k != ref}}
        prepared = {s["backend"]: {n: prepare_backend(m, s["backend"], f"arch{i}", s["output"], s["threads"])
                                   for i, (n, m) in enumerate(models.items())}}
        res = measure_latency(prepared, [(w, h)], s["rounds"], s["warmup"], s["threads"], reference=REFERENCE)
        add_roofline(res, models, [(w, h)])
        key, rows = s["size"], res["by_backend"][s["backend"]]
        when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        host = {"peak_gflops": res["roofline"]["peak_gflops"][key], "bandwidth_gbs": res["roofline"]["bandwidth_gbs"][key]}
        meta = res["_meta"]
        where = {"timed_on": socket.gethostname(), "warnings": list(meta.get("warnings", []))}
        new = {}
        for k, spec in todo.items():
            name = REFERENCE if k == ref else k
            row, cx = rows[name], complexity_report(models[name], (512, 1024))
            new[k] = {"ms": row["ms"][key], "iqr_ms": row["iqr_ms"][key], "speedup_vs_erfnet": row["speedup_vs_erfnet"][key],
                      "roofline_ms": row["roofline_ms"][key], "roofline_fraction": row["roofline_fraction"][key],
                      "erfnet_ms": rows[REFERENCE]["ms"][key], "params": cx["params"], "gmacs_1024x512": cx["gmacs"],
                      **host, **where, "measured": when}
        with self.lock:
            data = self.load()
            data.update(new)
            data["_settings"], data["_host"] = self.settings, host
            data["_meta"] = {k: meta[k] for k in ("cpu", "simd", "cpu_count", "threads", "torch")}
            atomic_write_json(self.path, data)

    def write_latency_json(self, out_dir, names: Mapping[str, str]) -> Path:
        """`<out_dir>/latency.json` in gradgroup-bench's shape for the experiments `names` ({name: arch key}),
        so `gradgroup-table` shows the search's latency column; ERFNet is the first row."""
        data, s, key = self.load(), self.settings, self.settings["size"]
        rows = {}
        erfnet = [v["erfnet_ms"] for k, v in data.items() if not k.startswith("_")]
        if erfnet:
            ref = sorted(erfnet)[len(erfnet) // 2]
            rows[REFERENCE] = {"ms": {key: ref}, "iqr_ms": {key: 0.0}, "speedup_vs_erfnet": {key: 1.0},
                               "ratio_vs_erfnet": {key: 1.0}}
        for name, k in names.items():
            e = data.get(k)
            if e:
                rows[name] = {"ms": {key: e["ms"]}, "iqr_ms": {key: e["iqr_ms"]},
                              "speedup_vs_erfnet": {key: e["speedup_vs_erfnet"]},
                              "ratio_vs_erfnet": {key: 1 / e["speedup_vs_erfnet"]},
                              "roofline_ms": {key: e["roofline_ms"]}, "roofline_fraction": {key: e["roofline_fraction"]}}
        host = data.get("_host") or {}
        out = Path(out_dir) / "latency.json"
        atomic_write_json(out, {"by_backend": {s["backend"]: rows},
                                "matmul": {"gflops": {key: host.get("peak_gflops")}},
                                "_meta": {**data.get("_meta", {}), "backend": s["backend"], "fastest_fp32": s["backend"],
                                          "output": s["output"], "size": "WxH", "batch": 1, "statistic": "median",
                                          "rounds": s["rounds"], "source": str(self.path)}})
        return out


def time_on_this_host(sweep_dir, settings: Mapping, todo: Mapping[str, ModelSpec]) -> None:
    """What a latency job runs on its node: time `todo` there into the sweep dir's cache (shared filesystem)."""
    LatencyCache(sweep_dir, **{k: settings[k] for k in SETTINGS}, runner=None).time_and_store(todo)
