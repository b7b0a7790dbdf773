import pytest
import torch
from mmcv.ops import batched_nms
from mmdet.models.utils import filter_scores_and_topk

from mmyoloms.deploy import multiclass_nms, nms_settings, onnx_nms


def _random_boxes(generator, batch, num, size=100.):
    xy = torch.rand(batch, num, 2, generator=generator) * size
    wh = torch.rand(batch, num, 2, generator=generator) * 30 + 2
    return torch.cat([xy, xy + wh], -1)


def _iou(a, b):
    lt = torch.maximum(a[:2], b[:2])
    rb = torch.minimum(a[2:], b[2:])
    inter = (rb - lt).clamp(min=0).prod()
    area = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod()
    return inter / (area - inter)


def _reference_onnx_nms(boxes, scores, max_out, iou_thr, score_thr):
    """Literal greedy NonMaxSuppression, one image and class at a time."""
    rows = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            order = [
                int(i) for i in scores[b, c].argsort(descending=True)
                if scores[b, c, i] > score_thr
            ]
            kept = []
            for i in order:
                if len(kept) == max_out:
                    break
                if all(_iou(boxes[b, i], boxes[b, j]) <= iou_thr
                       for j in kept):
                    kept.append(i)
            rows += [(b, c, i) for i in kept]
    return rows


def test_onnx_nms_semantics():
    generator = torch.Generator().manual_seed(0)
    boxes = _random_boxes(generator, 2, 60)
    scores = torch.rand(2, 3, 60, generator=generator)
    selected = onnx_nms(boxes, scores, 7, 0.3, 0.2)
    assert selected.dtype == torch.int64 and selected.shape[1] == 3
    expected = _reference_onnx_nms(boxes, scores, 7, 0.3, 0.2)
    assert sorted(map(tuple, selected.tolist())) == sorted(expected)


def test_multiclass_nms_matches_mmyolo_test_path():
    generator = torch.Generator().manual_seed(1)
    batch, num, classes = 2, 300, 5
    boxes = _random_boxes(generator, batch, num)
    scores = torch.rand(batch, num, classes, generator=generator)
    score_thr, iou_thr, pre_topk, keep_topk = 0.5, 0.6, 400, 50
    num_dets, det_boxes, det_scores, det_labels = multiclass_nms(
        boxes, scores, score_thr, iou_thr, pre_topk, keep_topk)
    assert num_dets.shape == (batch, 1)
    assert det_boxes.shape == (batch, keep_topk, 4)
    for b in range(batch):
        # mmyolo's multi-label predict_by_feat: filter, top-k, batched NMS
        s, labels, keep, _ = filter_scores_and_topk(scores[b], score_thr,
                                                    pre_topk)
        dets, kept = batched_nms(boxes[b][keep], s, labels,
                                 dict(type='nms', iou_threshold=iou_thr))
        dets, kept = dets[:keep_topk], kept[:keep_topk]
        n = int(num_dets[b, 0])
        assert n == len(kept)
        assert torch.allclose(det_scores[b, :n], dets[:, -1])
        assert torch.equal(det_labels[b, :n], labels[kept])
        assert torch.allclose(det_boxes[b, :n], boxes[b][keep][kept])
        # rows past num_dets are zero
        assert det_scores[b, n:].abs().sum() == 0
        assert det_boxes[b, n:].abs().sum() == 0


def test_multiclass_nms_with_fewer_candidates_than_keep():
    boxes = torch.tensor([[[0., 0., 10., 10.], [1., 1., 10., 10.],
                           [50., 50., 60., 60.]]])
    scores = torch.tensor([[[0.9, 0.1], [0.8, 0.0], [0.05, 0.7]]])
    num_dets, det_boxes, det_scores, det_labels = multiclass_nms(
        boxes, scores, 0.3, 0.5, 100, 100)
    # 3 boxes x 2 classes = 6 candidates, outputs shrink to 6 rows
    assert det_scores.shape == (1, 6)
    assert num_dets.tolist() == [[2]]
    assert det_labels[0, :2].tolist() == [0, 1]
    assert torch.allclose(det_scores[0, :2], torch.tensor([0.9, 0.7]))


def test_nms_settings():
    test_cfg = dict(multi_label=True, nms_pre=30000, score_thr=0.001,
                    nms=dict(type='nms', iou_threshold=0.65),
                    max_per_img=300)
    assert nms_settings(test_cfg) == dict(
        score_thr=0.001, iou_thr=0.65, pre_topk=30000, keep_topk=300,
        multi_label=True)
    assert nms_settings(test_cfg, score_thr=0.25,
                        keep_topk=100)['keep_topk'] == 100
    assert test_cfg['score_thr'] == 0.001  # caller's dict untouched
    with pytest.raises(ValueError, match='score_thr'):
        nms_settings(test_cfg, score_thr=1.5)
    with pytest.raises(ValueError, match='keep_topk'):
        nms_settings(test_cfg, keep_topk=0)
    with pytest.raises(ValueError, match='nms.type'):
        nms_settings(dict(test_cfg, nms=dict(type='soft_nms',
                                             iou_threshold=0.5)))
