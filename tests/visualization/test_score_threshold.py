"""f1_score_threshold: the score threshold of the best F1, with
pycocotools' matching, against hand-computed figures."""
import json

import pytest

from mmyoloms.visualization import f1_score_threshold


def _gt(path):
    def ann(i, img, cat, box):
        return dict(id=i, image_id=img, category_id=cat, bbox=box,
                    area=box[2] * box[3], iscrowd=0)
    coco = dict(
        images=[dict(id=1, file_name='a.jpg', width=100, height=100),
                dict(id=2, file_name='b.jpg', width=100, height=100)],
        annotations=[ann(1, 1, 1, [0, 0, 10, 10]),
                     ann(2, 1, 2, [20, 20, 10, 10]),
                     ann(3, 2, 1, [5, 5, 20, 20])],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')])
    with open(path, 'w') as f:
        json.dump(coco, f)
    return str(path)


def _results(path, dets):
    with open(path, 'w') as f:
        json.dump([dict(image_id=i, category_id=c, bbox=b, score=s)
                   for i, c, b, s in dets], f)
    return str(path)


def test_threshold_of_the_best_f1(tmp_path):
    gt = _gt(tmp_path / 'gt.json')
    res = _results(tmp_path / 'res.json', [
        (1, 1, [0, 0, 10, 10], 0.9),     # TP (box A)
        (1, 1, [50, 50, 10, 10], 0.8),   # FP: no box there
        (2, 1, [6, 6, 20, 20], 0.7),     # TP (box C, IoU 0.82)
        (1, 1, [20, 20, 10, 10], 0.3),   # FP: box B is class 2
        (2, 2, [5, 5, 20, 20], 0.2),     # FP: box C is class 1
    ])
    # thresholds 0.9 / 0.8 / 0.7 / 0.3 / 0.2 keep 1..5 detections with
    # 1, 1, 2, 2, 2 true positives of 3 boxes: F1 = 2 TP / (kept + 3)
    out = f1_score_threshold(gt, res)
    assert out['threshold'] == pytest.approx(0.7)
    assert out['f1'] == pytest.approx(4 / 6)
    assert out['precision'] == pytest.approx(2 / 3)
    assert out['recall'] == pytest.approx(2 / 3)
    assert out['num_gt'] == 3
    assert out['thresholds'] == pytest.approx([0.2, 0.3, 0.7, 0.8, 0.9])
    assert out['f1s'] == pytest.approx([4 / 8, 4 / 7, 4 / 6, 2 / 5, 2 / 4])
    # a stricter IoU: the 0.82-IoU match of box C no longer counts
    strict = f1_score_threshold(gt, res, iou_thr=0.9)
    assert strict['threshold'] == pytest.approx(0.9)
    assert strict['f1'] == pytest.approx(2 / 4)


def test_equal_scores_are_one_threshold(tmp_path):
    gt = _gt(tmp_path / 'gt.json')
    res = _results(tmp_path / 'res.json', [
        (1, 1, [0, 0, 10, 10], 0.5),     # TP
        (1, 2, [20, 20, 10, 10], 0.5),   # TP
        (1, 1, [50, 50, 10, 10], 0.5),   # FP, same score: kept with them
    ])
    out = f1_score_threshold(gt, res)
    assert out['thresholds'] == pytest.approx([0.5])
    assert out['f1'] == pytest.approx(4 / 6)


def test_no_detection(tmp_path):
    gt = _gt(tmp_path / 'gt.json')
    with pytest.raises(ValueError, match='holds no detection'):
        f1_score_threshold(gt, _results(tmp_path / 'res.json', []))
