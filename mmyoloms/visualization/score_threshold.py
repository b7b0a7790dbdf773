"""Choose the score threshold of a detection picture by measurement.

A detector's raw output holds every box above the test config's tiny
``score_thr`` (0.001 for RTMDet), good for COCO AP, far too many to draw.
:func:`f1_score_threshold` picks the threshold at which the detections
best match the ground truth, measured by F1 (the harmonic mean of
precision and recall) at one IoU, with pycocotools' own matching (greedy
by score, per image and class, as for COCO AP).
"""
import contextlib
import io
from typing import Dict

import numpy as np


def f1_score_threshold(ann_file: str,
                       results_file: str,
                       iou_thr: float = 0.5,
                       max_dets: int = 100) -> Dict:
    """The score threshold that maximises F1 of the detections in
    ``results_file`` against the ground truth of ``ann_file``.

    Args:
        ann_file (str): COCO annotation file (the ground truth).
        results_file (str): COCO results JSON (a list of ``image_id,
            category_id, bbox, score``), e.g. the ``.bbox.json`` that
            mmdet's ``CocoMetric`` writes with ``outfile_prefix``.
        iou_thr (float): IoU at which a detection matches a ground-truth
            box. Defaults to 0.5.
        max_dets (int): Detections per image considered, best first.
            Defaults to 100.

    Returns:
        dict: ``threshold`` (the highest threshold reaching the best F1),
        ``f1``,
        ``precision``, ``recall``, ``num_gt``, and ``thresholds``/``f1s``
        (the F1 at every candidate score, ascending).

    Raises:
        ValueError: ``results_file`` holds no detection, or the ground
            truth no box.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        try:
            dt = gt.loadRes(results_file)
        except IndexError as e:  # pycocotools on an empty list
            raise ValueError(f'{results_file} holds no detection') from e
        coco_eval = COCOeval(gt, dt, 'bbox')
        coco_eval.params.iouThrs = np.array([iou_thr])
        coco_eval.params.areaRng = [coco_eval.params.areaRng[0]]  # all
        coco_eval.params.areaRngLbl = ['all']
        coco_eval.params.maxDets = [max_dets]
        coco_eval.evaluate()
    scores, matched = [], []
    num_gt = 0
    for img in coco_eval.evalImgs:
        if img is None:
            continue
        keep = ~np.asarray(img['dtIgnore'][0], bool)
        scores.append(np.asarray(img['dtScores'])[keep])
        matched.append(np.asarray(img['dtMatches'][0])[keep] > 0)
        num_gt += int((~np.asarray(img['gtIgnore'], bool)).sum())
    scores = np.concatenate(scores) if scores else np.zeros(0)
    matched = np.concatenate(matched) if matched else np.zeros(0, bool)
    if num_gt == 0:
        raise ValueError(f'{ann_file} holds no ground-truth box')
    if len(scores) == 0:
        raise ValueError(f'{results_file} holds no detection')
    order = np.argsort(-scores, kind='stable')
    scores, matched = scores[order], matched[order]
    tp = np.cumsum(matched)
    kept = np.arange(1, len(scores) + 1)
    f1 = 2 * tp / (kept + num_gt)
    # a threshold keeps every detection scoring at least it: evaluate at
    # the last detection of each run of equal scores
    last = np.r_[scores[1:] != scores[:-1], True]
    f1_at, tp_at, kept_at, thr_at = f1[last], tp[last], kept[last], \
        scores[last]
    best = int(np.argmax(f1_at))
    return dict(
        threshold=float(thr_at[best]),
        f1=float(f1_at[best]),
        precision=float(tp_at[best] / kept_at[best]),
        recall=float(tp_at[best] / num_gt),
        num_gt=num_gt,
        thresholds=thr_at[::-1].tolist(),
        f1s=f1_at[::-1].tolist())
