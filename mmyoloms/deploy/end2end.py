"""A detector as one graph: network, box decoding and NMS."""
import copy
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from .nms import multiclass_nms

OUTPUT_NAMES = ('num_dets', 'boxes', 'scores', 'labels')


def nms_settings(test_cfg: Optional[dict],
                 score_thr: Optional[float] = None,
                 iou_thr: Optional[float] = None,
                 pre_topk: Optional[int] = None,
                 keep_topk: Optional[int] = None) -> dict:
    """NMS settings from a model ``test_cfg`` with optional overrides.

    Args:
        test_cfg (dict, optional): mmyolo ``model.test_cfg`` (``score_thr``,
            ``nms.iou_threshold``, ``nms_pre``, ``max_per_img``,
            ``multi_label``).
        score_thr, iou_thr, pre_topk, keep_topk: Overrides, None keeps the
            config's value. Defaults to None.

    Returns:
        dict: ``score_thr, iou_thr, pre_topk, keep_topk, multi_label``.
    """
    cfg = ConfigDict(copy.deepcopy(dict(test_cfg or {})))
    nms_cfg = cfg.get('nms', {}) or {}
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError('only test_cfg.nms.type="nms" can be exported, got '
                         f'{nms_cfg.get("type")!r}')
    settings = dict(
        score_thr=cfg.get('score_thr', 0.) if score_thr is None else score_thr,
        iou_thr=nms_cfg.get('iou_threshold') if iou_thr is None else iou_thr,
        pre_topk=cfg.get('nms_pre', 30000) if pre_topk is None else pre_topk,
        keep_topk=cfg.get('max_per_img', 300)
        if keep_topk is None else keep_topk,
        multi_label=bool(cfg.get('multi_label', True)))
    if settings['iou_thr'] is None:
        raise ValueError('test_cfg.nms.iou_threshold is missing; give an '
                         'iou_thr')
    if not 0 <= settings['score_thr'] < 1:
        raise ValueError(
            f'score_thr must be in [0, 1), got {settings["score_thr"]}')
    if not 0 < settings['iou_thr'] <= 1:
        raise ValueError(
            f'iou_thr must be in (0, 1], got {settings["iou_thr"]}')
    for key in ('pre_topk', 'keep_topk'):
        if not isinstance(settings[key], int) or settings[key] < 1:
            raise ValueError(
                f'{key} must be an int >= 1, got {settings[key]}')
    return settings


def _is_mmyolo_distance_coder(coder) -> bool:
    from mmyolo.models.task_modules.coders import DistancePointBBoxCoder
    return type(coder).decode is DistancePointBBoxCoder.decode


def _distance_to_boxes(points: Tensor, distances: Tensor) -> Tensor:
    """mmdet's ``distance2bbox`` without ``max_shape``, as one broadcast
    operation: ``(x, y, x, y) + (-l, -t, r, b)``, the same values.

    mmdet's form (four sliced coordinates, each subtracted from a sliced
    constant, then stacked) is mis-shaped by OpenVINO 2026.4's CPU plugin
    as soon as the graph holds a quantized op (the INT8 model); this one
    compiles and runs in every runtime.

    Args:
        points (Tensor): ``(N, 2)`` prior centres ``(x, y)``.
        distances (Tensor): ``(B, N, 4)`` distances ``(l, t, r, b)`` in
            pixels.

    Returns:
        Tensor: ``(B, N, 4)`` boxes ``(x1, y1, x2, y2)``.
    """
    sign = distances.new_tensor([-1., -1., 1., 1.])
    return points.repeat(1, 2)[None] + distances * sign


class End2EndDetector(nn.Module):
    """Network, box decoding and NMS of an mmyolo dense detector.

    ``images`` (``N x 3 x H x W``, preprocessed) go through the detector's
    backbone, neck and head; the head's priors and box coder decode the
    boxes, and :func:`multiclass_nms` selects the detections. Boxes are in
    input-image coordinates (undoing resize and padding is the caller's
    job, as in mmyolo's ``predict_by_feat`` with ``rescale=True``).

    Works with heads that return ``(cls_scores, bbox_preds)`` and a
    point-based prior generator, i.e. RTMDet-style heads (YOLO-MS uses
    RTMDet's head).

    Args:
        detector (nn.Module): An mmyolo ``YOLODetector``.
        score_thr (float): Score threshold.
        iou_thr (float): NMS IoU threshold.
        pre_topk (int): Candidates before NMS.
        keep_topk (int): Detections per image after NMS.
        multi_label (bool): Every class of a box may be a candidate
            (mmyolo's ``multi_label``); otherwise only its best class.
            Defaults to True.
        with_nms (bool): Decode and run NMS; if False the module returns
            the raw head outputs (to time the network alone).
            Defaults to True.
    """

    def __init__(self,
                 detector: nn.Module,
                 score_thr: float,
                 iou_thr: float,
                 pre_topk: int,
                 keep_topk: int,
                 multi_label: bool = True,
                 with_nms: bool = True) -> None:
        super().__init__()
        head = detector.bbox_head
        for attr in ('prior_generator', 'bbox_coder', 'featmap_strides',
                     'num_classes'):
            if not hasattr(head, attr):
                raise ValueError(
                    f'{type(head).__name__} has no {attr}: only '
                    'RTMDet-style heads can be exported with NMS')
        if getattr(head.prior_generator, 'num_base_priors', [1])[0] != 1:
            raise ValueError('only heads with one prior per location are '
                             'supported')
        self.detector = detector
        self.score_thr = float(score_thr)
        self.iou_thr = float(iou_thr)
        self.pre_topk = int(pre_topk)
        self.keep_topk = int(keep_topk)
        self.multi_label = multi_label and head.num_classes > 1
        self.with_nms = with_nms

    def decode(self, cls_scores: Sequence[Tensor],
               bbox_preds: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """Flatten the levels and decode: ``(B, N, 4)`` boxes, ``(B, N, C)``
        class probabilities."""
        head = self.detector.bbox_head
        batch = cls_scores[0].shape[0]
        featmap_sizes = [score.shape[2:] for score in cls_scores]
        priors = head.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype,
            device=cls_scores[0].device)
        strides = torch.cat([
            priors_lvl.new_full((priors_lvl.shape[0], ), stride)
            for priors_lvl, stride in zip(priors, head.featmap_strides)
        ])
        scores = torch.cat([
            score.permute(0, 2, 3, 1).reshape(batch, -1, head.num_classes)
            for score in cls_scores
        ], 1).sigmoid()
        preds = torch.cat([
            pred.permute(0, 2, 3, 1).reshape(batch, -1, 4)
            for pred in bbox_preds
        ], 1)
        priors = torch.cat(priors)
        if _is_mmyolo_distance_coder(head.bbox_coder) \
                and priors.shape[-1] == 2:
            boxes = _distance_to_boxes(priors, preds * strides[:, None])
        else:
            boxes = head.bbox_coder.decode(priors[None], preds, strides)
        return boxes, scores

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        outs = self.detector._forward(images)
        if len(outs) != 2:
            raise ValueError(
                f'the head returned {len(outs)} outputs; only heads '
                'returning (cls_scores, bbox_preds) are supported')
        cls_scores, bbox_preds = outs
        if not self.with_nms:
            return tuple(cls_scores) + tuple(bbox_preds)
        boxes, scores = self.decode(cls_scores, bbox_preds)
        if not self.multi_label:
            best = scores.argmax(-1, keepdim=True)
            scores = torch.zeros_like(scores).scatter(
                -1, best, scores.gather(-1, best))
        return multiclass_nms(boxes, scores, self.score_thr, self.iou_thr,
                              self.pre_topk, self.keep_topk)
