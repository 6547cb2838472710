"""The ground floor (src/gradgroup/common): the one mIoU formula, the one record reader, atomic JSON."""
import json
import math

import numpy as np

from gradgroup.common.atomic import atomic_write_json
from gradgroup.common.records import RECORD, read_record
from gradgroup.common.scores import class_iou_record, class_ious, mean_iou, scores


def test_scores_follow_the_projects_miou_convention():
    # rows: ground truth, columns: prediction. Class 0: 8 right, 2 taken for class 1; class 1 is never in
    # the ground truth but predicted twice (IoU 0, counted); class 2 is in neither (left out of the mean).
    cm = np.array([[8, 2, 0], [0, 0, 0], [0, 0, 0]])
    iou = class_ious(cm)
    assert iou[0] == 0.8 and iou[1] == 0.0 and math.isnan(iou[2])
    assert mean_iou(iou) == 40.0
    assert scores(cm)["pixel_accuracy"] == 80.0
    assert class_iou_record(iou, ["a", "b", "c"]) == {"a": 80.0, "b": 0.0, "c": None}
    assert math.isnan(mean_iou([float("nan")]))


def test_the_record_reader_tells_a_missing_or_broken_record_from_a_good_one(tmp_path):
    assert read_record(tmp_path) is None
    (tmp_path / RECORD).write_text("[1, 2]")  # JSON, but not a record
    assert read_record(tmp_path) is None
    atomic_write_json(tmp_path / RECORD, {"status": "ok", "miou": np.float32(41.5)})
    rec = read_record(tmp_path)  # a RunRecord: typed fields, and a read-only mapping of what the file holds
    assert rec.miou == 41.5 and dict(rec) == {"status": "ok", "schema": 2, "error": None, "miou": 41.5}
    assert json.loads((tmp_path / RECORD).read_text())["status"] == "ok"
    assert [p.name for p in tmp_path.iterdir()] == [RECORD]  # no temp file left behind


def test_a_published_page_carries_its_pictures_beside_it(tmp_path):
    from gradgroup.common.atomic import publish_page

    run = tmp_path / "multirun" / "search"
    run.mkdir(parents=True)
    (run / "search_pareto.png").write_bytes(b"\x89PNG pareto")
    (run / "optuna_pareto.png").write_bytes(b"\x89PNG optuna")
    page = tmp_path / "docs" / "search.md"
    publish_page("![a](search_pareto.png)\n![b](search_optuna_pareto.png)\n", page,
                 {run / "search_pareto.png": "search_pareto.png", run / "optuna_pareto.png": "search_optuna_pareto.png"})
    assert page.read_text() == "![a](search_pareto.png)\n![b](search_optuna_pareto.png)\n"
    assert (page.parent / "search_optuna_pareto.png").read_bytes() == b"\x89PNG optuna"
    assert sorted(p.name for p in page.parent.iterdir()) == ["search.md", "search_optuna_pareto.png", "search_pareto.png"]
