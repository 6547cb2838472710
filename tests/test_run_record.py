"""The run record's typed contract (common/records.py): Status, RunRecord, the one reader and writer."""
import json

import pytest

from gradgroup.common.records import (RECORD, SCHEMA, RecordError, RunRecord, Status, is_ok, read_record,
                                      read_record_file, write_record)

# A record as the version before the typed contract wrote it (no "schema" key), with a key no version knows.
OLD = {"status": "ok", "error": None, "experiment": "table3/dg4", "label": "DG4*", "family": "ERFNet", "table": "table3",
       "arm": None, "seed": 0, "block": "dgc", "groups": 4, "gradual": False, "preset": "quick", "paper": None,
       "gmacs_convention": "exact", "input_hw": [512, 1024], "overrides": ["experiment=table3/dg4"], "pid": 1, "host": "h",
       "started": 1.0, "heartbeat": 2.0, "epochs_done": 16, "miou": 23.66, "test_loss": 0.9, "class_iou": {"road": 90.0},
       "label_resolution": "label_hw", "label_hw": [64, 128], "params": 345535, "gmacs": 6.879, "epochs": 16,
       "checkpoints": {"best": "", "last": "checkpoints/last.ckpt"}, "checkpoint_used": "last", "wall_s": 185.2,
       "a_key_from_elsewhere": {"kept": True}}


def test_a_record_of_the_previous_version_loads_and_keeps_what_it_does_not_know(tmp_path):
    (tmp_path / RECORD).write_text(json.dumps(OLD))
    rec = read_record(tmp_path)
    assert isinstance(rec, RunRecord) and rec.status is Status.OK and rec.miou == 23.66 and rec.schema == SCHEMA
    assert rec["miou"] == 23.66 and rec.get("nothing") is None and rec.extra == {"a_key_from_elsewhere": {"kept": True}}
    assert is_ok(rec) and rec.to_dict()["a_key_from_elsewhere"] == {"kept": True}
    write_record(tmp_path, rec)  # written back: the unknown key survives, the schema is stamped
    again = json.loads((tmp_path / RECORD).read_text())
    assert again["a_key_from_elsewhere"] == {"kept": True} and again["schema"] == SCHEMA and again["status"] == "ok"


@pytest.mark.parametrize("key,value,message", [
    ("miou", "high", "key 'miou' is 'high', expected int or float"),
    ("seed", True, "key 'seed' is True, expected int"),
    ("status", "done", "status 'done' is not one of"),
    ("schema", SCHEMA + 1, "written by a newer gradgroup"),
])
def test_a_record_that_breaks_the_contract_is_a_clear_error_naming_file_and_key(tmp_path, key, value, message):
    path = tmp_path / RECORD
    path.write_text(json.dumps(OLD | {key: value}))
    with pytest.raises(RecordError, match=message) as err:
        read_record_file(path)
    assert str(path) in str(err.value)
    assert read_record(tmp_path) is None  # the tolerant reader: None, and the caller says "unreadable"


def test_the_writer_refuses_a_record_it_could_not_read_back(tmp_path):
    with pytest.raises(RecordError, match="key 'epochs' is '3'"):
        write_record(tmp_path, {"status": Status.RUNNING, "epochs": "3"})
    assert not (tmp_path / RECORD).exists()


def test_is_ok_is_status_ok_with_a_finite_miou():
    assert is_ok({"status": "ok", "miou": 1.0}) and is_ok({"status": Status.OK, "miou": 0})
    assert not is_ok({"status": "ok", "miou": None}) and not is_ok({"status": "ok", "miou": float("nan")})
    assert not is_ok({"status": "failed", "miou": 1.0}) and not is_ok({"status": "ok", "miou": True})


def test_statuses_serialise_as_their_words():
    assert json.dumps({"s": Status.NOT_STARTED}) == '{"s": "not started"}' and str(Status.KILLED) == "killed"
    assert RunRecord.from_dict({"status": "requeued"}).to_dict() == {"status": "requeued", "schema": SCHEMA, "error": None}


def test_no_status_word_is_written_as_a_literal_outside_the_enum():
    """Statuses come from `Status` (docstrings and comments aside): a typo'd literal cannot slip in."""
    import ast
    from pathlib import Path

    import gradgroup

    words = {s.value for s in Status}
    root = Path(gradgroup.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "records.py" and path.parent.name == "common":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        bad += [f"{path.relative_to(root)}:{n.lineno} {n.value!r}" for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and n.value in words and id(n) not in docs
                and not _is_dict_key(tree, n)]
    assert not bad, bad


def _is_dict_key(tree, node) -> bool:
    """`"failed": 3` and `t["failed"]` count failed jobs: a key, not a status."""
    import ast

    return any((isinstance(d, ast.Dict) and node in d.keys) or (isinstance(d, ast.Subscript) and d.slice is node)
               for d in ast.walk(tree))
