"""The project's mIoU equals cityscapesscripts' own evaluator on the same predictions (issue 9, official parity):
classes absent from GT and prediction, ignore pixels, predictions on ignore pixels, a class predicted but
absent from GT, and the evaluator's instance-level path (np.in1d under numpy 2, inference/official.py)."""
import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import id2label
from PIL import Image

from gradgroup.common.scores import class_iou_record as class_iou
from gradgroup.data.labels import LABEL_TO_TRAIN, NUM_CLASSES
from gradgroup.inference.evaluate import evaluate
from gradgroup.inference.official import official_scores
from gradgroup.inference.outputs import TRAIN_TO_LABEL, write_label_ids


def _case(rng, h=48, w=64):
    """GT labelIds with void ids (0 unlabeled, 1 ego vehicle, 4 static), 8 classes only; predictions that
    are partly right, cover void pixels, and include a class (train, 16) that no GT pixel has."""
    present = [7, 8, 11, 21, 23, 24, 26, 33]  # road sidewalk building vegetation sky person car bicycle
    gt = rng.choice(present + [0, 1, 4], size=(h, w)).astype(np.uint8)
    gt_train = LABEL_TO_TRAIN[gt]
    pred = np.where(rng.random((h, w)) < 0.6, gt_train, rng.choice([0, 2, 8, 10, 13, 16], size=(h, w)))
    pred = np.where(gt_train == 255, rng.choice([0, 13, 16], size=(h, w)), pred).astype(np.uint8)  # on void
    return gt, pred


def test_project_miou_equals_cityscapesscripts_on_the_same_predictions(tmp_path):
    rng = np.random.default_rng(0)
    cases = [_case(rng) for _ in range(3)]
    preds, gts, batches = [], [], []
    for i, (gt, pred) in enumerate(cases):
        gt_path = tmp_path / "gt" / f"city_000000_{i:06d}_gtFine_labelIds.png"
        gt_path.parent.mkdir(exist_ok=True)
        Image.fromarray(gt).save(gt_path)
        # instance ids (labelId * 1000 + k) for the car pixels, so the evaluator's iIoU path (np.in1d) runs
        inst = np.where(gt == 26, 26 * 1000 + 1, gt).astype(np.uint16)  # 16-bit, as Cityscapes stores them
        Image.fromarray(inst).save(str(gt_path).replace("labelIds", "instanceIds"))
        pred_path = tmp_path / "pred" / f"city_000000_{i:06d}_pred_labelIds.png"
        write_label_ids(pred, pred_path)
        preds.append(pred_path), gts.append(gt_path)
        batches.append((torch.zeros(1, 3, 4, 4), torch.from_numpy(LABEL_TO_TRAIN[gt]).long()[None]))
    # the project's path: a predictor whose logits are the one-hot predictions
    it = iter(cases)
    ours = evaluate(lambda _: torch.nn.functional.one_hot(torch.from_numpy(next(it)[1]).long(), NUM_CLASSES)
                    .permute(2, 0, 1)[None].float(), batches, NUM_CLASSES, progress=False)
    official = official_scores(preds, gts, tmp_path / "result.json", instance_level=True)
    assert official["miou"] == pytest.approx(ours["miou"], abs=1e-9)
    assert official["class_iou"] == class_iou(ours["iou"], official["class_iou"])
    names = official["class_iou"]
    assert names["train"] == 0.0            # predicted, absent from GT: 0, counted in the mean
    assert names["bus"] is None             # in neither: left out of the mean
    assert sum(v is None for v in names.values()) == NUM_CLASSES - 9
    assert official["iiou"] is not None     # the instance-level path ran (np.in1d shim under numpy 2)


def test_labelid_pngs_round_trip_through_the_official_table():
    train_ids = np.array([list(range(NUM_CLASSES)) + [255]], dtype=np.uint8)
    label_ids = TRAIN_TO_LABEL[train_ids]
    assert [id2label[int(i)].trainId for i in label_ids[0, :NUM_CLASSES]] == list(range(NUM_CLASSES))
    assert id2label[int(label_ids[0, -1])].ignoreInEval and LABEL_TO_TRAIN[label_ids].tolist() == train_ids.tolist()
