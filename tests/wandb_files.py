"""Read what wandb wrote offline, for the tests: wandb 0.31 has no Python reader for its run files.

A `run-<id>.wandb` file is a LevelDB-style log: a 7-byte file header (`:W&B`, magic 0xBEE1, version),
then 32 KiB blocks of chunks, each with a 7-byte header (crc32, length, type: full / first / middle / last);
a chunk never crosses a block, and a block's tail shorter than a header is zero padding. The chunks join
into serialized `wandb.proto.wandb_internal_pb2.Record` messages (run, history, summary, config, ...).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list:
    """Every Record message of one .wandb file, in order."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:HEADER])
    assert ident == b":W&B" and magic == 0xBEE1, f"{path}: not a wandb run file"
    out, pos, pending = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # zero padding at the end of a block
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(pending)
            out.append(rec)
            pending = b""
    return out


def _value(item):
    return json.loads(item.value_json) if item.value_json else None


def _items(items) -> dict:
    """Summary or history items as a dict; a nested key (media: `val/samples` -> its fields) as nested dicts."""
    out: dict = {}
    for i in items:
        keys = [i.key] if i.key else list(i.nested_key)
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = _value(i)
    return out


@dataclass
class OfflineRun:
    """One offline-run-* dir, read back: the run record's identity, its summary, config and history."""
    path: Path
    id: str = ""
    group: str = ""
    name: str = ""
    job_type: str = ""
    project: str = ""
    tags: list = field(default_factory=list)
    resumed: bool = False
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # one dict per logged step
    artifacts: list = field(default_factory=list)  # (name, type) of every logged artifact
    artifact_records: list = field(default_factory=list)  # the ArtifactRecord messages themselves

    @classmethod
    def read(cls, run_dir: Path) -> "OfflineRun":
        (log,) = Path(run_dir).glob("run-*.wandb")
        run = cls(Path(run_dir))
        for rec in records(log):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                r = rec.run
                run.id, run.group, run.name, run.job_type = r.run_id, r.run_group, r.display_name, r.job_type
                run.project, run.tags, run.resumed = r.project, list(r.tags), bool(r.resumed)
                run.config.update({i.key: _value(i) for i in r.config.update})
            elif kind == "config":
                run.config.update({i.key: _value(i) for i in rec.config.update})
            elif kind == "summary":
                run.summary.update(_items(rec.summary.update))
            elif kind == "history":
                run.history.append(_items(rec.history.item))
            elif kind == "artifact":
                run.artifacts.append((rec.artifact.name, rec.artifact.type))
                run.artifact_records.append(rec.artifact)
        # A process killed early may not have flushed its run record; the dir name carries the id too.
        run.id = run.id or Path(run_dir).name.rsplit("-", 1)[-1]
        return run

    def artifact_files(self, name: str) -> dict:
        """{path in the artifact: size} of the artifact `name` this run logged (its manifest, inline or in the
        file the record names)."""
        (art,) = [a for a in self.artifact_records if a.name == name]
        if art.manifest.contents:
            return {c.path: c.size for c in art.manifest.contents}
        text = Path(art.manifest.manifest_file_path).read_bytes()
        if text[:2] == b"\x1f\x8b":
            import gzip

            text = gzip.decompress(text)
        return {path: entry["size"] for path, entry in json.loads(text)["contents"].items()}

    def logged(self, key: str) -> list:
        """Every value logged under `key`, in order."""
        return [h[key] for h in self.history if key in h]


def offline_runs(folder: Path) -> list[OfflineRun]:
    """Every offline run under `folder` (its wandb/ dir or anywhere below), oldest first."""
    return [OfflineRun.read(d) for d in sorted(Path(folder).rglob("offline-run-*")) if d.is_dir()]
