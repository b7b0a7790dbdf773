"""Batched multi-class NMS that runs in PyTorch and exports to ONNX.

The heavy lifting is ONNX's ``NonMaxSuppression``: a custom operator
``mmyoloms::onnx_nms`` carries its exact semantics, runs through
:func:`mmcv.ops.nms` in PyTorch, and is translated to the ONNX operator by
both torch exporters (:data:`ONNX_TRANSLATIONS` for the dynamo exporter,
:func:`register_torchscript_symbolic` for the TorchScript one).

On torch < 2.4 (no ``torch.library.custom_op``) the same operator is
defined through ``torch.library.Library``, without the fake kernel that
only ``torch.export`` needs: it runs in PyTorch and exports with the
TorchScript exporter (:func:`mmyoloms.deploy.export_onnx` picks that one
on such a torch).
"""
from typing import Tuple

import torch
from mmcv.ops import nms as mmcv_nms
from torch import Tensor

from mmyoloms.compat import has_torch_feature


def _onnx_nms(boxes: Tensor, scores: Tensor, max_output_per_class: int,
              iou_threshold: float, score_threshold: float) -> Tensor:
    """ONNX ``NonMaxSuppression`` (``center_point_box=0``) in PyTorch.

    For every image ``b`` and class ``c``, the boxes with
    ``scores[b, c] > score_threshold`` go through greedy NMS (a box is
    dropped when its IoU with a kept, higher-scoring box exceeds
    ``iou_threshold``); at most ``max_output_per_class`` survive.

    Args:
        boxes (Tensor): ``(B, N, 4)`` boxes ``(x1, y1, x2, y2)``.
        scores (Tensor): ``(B, C, N)`` scores.
        max_output_per_class (int): Most boxes kept per image and class.
        iou_threshold (float): IoU above which a box is suppressed.
        score_threshold (float): Boxes must score strictly above it.

    Returns:
        Tensor: ``(M, 3)`` int64 rows ``(batch, class, box index)``.
    """
    selected = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            candidates = torch.nonzero(
                scores[b, c] > score_threshold).squeeze(1)
            if candidates.numel() == 0:
                continue
            _, keep = mmcv_nms(boxes[b, candidates],
                               scores[b, c, candidates],
                               iou_threshold)
            keep = candidates[keep[:max_output_per_class]]
            selected.append(
                torch.stack([
                    torch.full_like(keep, b),
                    torch.full_like(keep, c), keep
                ], 1))
    if not selected:
        return torch.zeros((0, 3), dtype=torch.int64, device=boxes.device)
    return torch.cat(selected).to(torch.int64)


if has_torch_feature('custom_op'):
    onnx_nms = torch.library.custom_op(
        'mmyoloms::onnx_nms', mutates_args=())(_onnx_nms)

    @onnx_nms.register_fake
    def _onnx_nms_fake(boxes, scores, max_output_per_class, iou_threshold,
                       score_threshold):
        num_selected = torch.library.get_ctx().new_dynamic_size()
        return boxes.new_empty((num_selected, 3), dtype=torch.int64)
else:
    # Kept at module level: the operator lives as long as the library.
    _LIBRARY = torch.library.Library('mmyoloms', 'DEF')
    _LIBRARY.define('onnx_nms(Tensor boxes, Tensor scores, '
                    'int max_output_per_class, float iou_threshold, '
                    'float score_threshold) -> Tensor')
    _LIBRARY.impl('onnx_nms', _onnx_nms, 'CompositeExplicitAutograd')
    onnx_nms = torch.ops.mmyoloms.onnx_nms


def _onnx_nms_translation(boxes, scores, max_output_per_class: int,
                          iou_threshold: float, score_threshold: float):
    from onnxscript import opset18 as op
    return op.NonMaxSuppression(
        boxes,
        scores,
        op.Constant(value_ints=[max_output_per_class]),
        op.Constant(value_floats=[iou_threshold]),
        op.Constant(value_floats=[score_threshold]),
        center_point_box=0)


#: ``custom_translation_table`` for ``torch.onnx.export(..., dynamo=True)``.
ONNX_TRANSLATIONS = {
    torch.ops.mmyoloms.onnx_nms.default: _onnx_nms_translation
}


def _onnx_nms_symbolic(g, boxes, scores, max_output_per_class, iou_threshold,
                       score_threshold):
    try:  # torch >= 2.9; the public module re-exports only public names
        from torch.onnx._internal.torchscript_exporter import symbolic_helper
    except ImportError:
        from torch.onnx import symbolic_helper
    max_output = symbolic_helper._maybe_get_const(max_output_per_class, 'i')
    iou = symbolic_helper._maybe_get_const(iou_threshold, 'f')
    score = symbolic_helper._maybe_get_const(score_threshold, 'f')
    return g.op(
        'NonMaxSuppression',
        boxes,
        scores,
        g.op('Constant',
             value_t=torch.tensor([max_output], dtype=torch.int64)),
        g.op('Constant', value_t=torch.tensor([iou], dtype=torch.float32)),
        g.op('Constant', value_t=torch.tensor([score], dtype=torch.float32)),
        center_point_box_i=0)


def register_torchscript_symbolic(opset_version: int) -> None:
    """Let the TorchScript exporter write ``mmyoloms::onnx_nms`` as ONNX."""
    torch.onnx.register_custom_op_symbolic('mmyoloms::onnx_nms',
                                           _onnx_nms_symbolic, opset_version)


def _size_min(a: int, b) -> int:
    # The TorchScript tracer hands sizes over as tensors: the example's
    # value is baked in. torch.export hands SymInts: stays symbolic.
    if isinstance(b, Tensor):
        b = int(b)
    return torch.sym_min(a, b)


def multiclass_nms(boxes: Tensor, scores: Tensor, score_thr: float,
                   iou_thr: float, pre_topk: int,
                   keep_topk: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-class NMS over a batch, with fixed-size outputs.

    Follows mmyolo's multi-label test path: the ``pre_topk`` best
    (box, class) pairs over all classes are the candidates, pairs scoring
    ``<= score_thr`` are dropped, NMS runs per class, and the ``keep_topk``
    best survivors are returned, sorted by score.

    Args:
        boxes (Tensor): ``(B, N, 4)`` decoded boxes ``(x1, y1, x2, y2)``.
        scores (Tensor): ``(B, N, C)`` class probabilities.
        score_thr (float): Score threshold (``>= 0``).
        iou_thr (float): NMS IoU threshold.
        pre_topk (int): Candidate (box, class) pairs before NMS.
        keep_topk (int): Detections kept per image after NMS.

    Returns:
        tuple[Tensor]: ``num_dets (B, 1)`` int64, ``boxes (B, K, 4)``,
        ``scores (B, K)`` and ``labels (B, K)`` int64 with
        ``K = min(keep_topk, pre_topk, N * C)``; rows past ``num_dets``
        are zero.
    """
    batch, num_boxes, num_classes = scores.shape
    flat_scores = scores.reshape(batch, num_boxes * num_classes)
    num_candidates = _size_min(pre_topk, num_boxes * num_classes)
    top_scores, top_inds = flat_scores.topk(num_candidates, dim=1)
    box_inds = top_inds // num_classes
    labels = top_inds % num_classes
    candidates = boxes.gather(1, box_inds.unsqueeze(-1).expand(-1, -1, 4))

    # One score row per class, zero where the candidate is another class.
    classes = torch.arange(num_classes, device=scores.device)
    class_scores = torch.where(
        labels.unsqueeze(1) == classes.view(1, -1, 1),
        top_scores.unsqueeze(1), top_scores.new_zeros(()))
    selected = torch.ops.mmyoloms.onnx_nms(candidates, class_scores,
                                           keep_topk, iou_thr, score_thr)
    batch_inds, cand_inds = selected[:, 0], selected[:, 2]

    kept = torch.zeros_like(top_scores).index_put(
        (batch_inds, cand_inds), top_scores[batch_inds, cand_inds])
    num_out = _size_min(keep_topk, num_candidates)
    # Kept pairs score > score_thr >= 0 and all others are 0 here, so the
    # top entries of ``kept`` are the survivors in descending order.
    det_scores, order = kept.topk(num_out, dim=1)
    num_dets = (kept > 0).sum(1, keepdim=True).clamp(max=num_out)
    valid = torch.arange(num_out, device=scores.device).unsqueeze(0) < num_dets
    det_boxes = candidates.gather(1, order.unsqueeze(-1).expand(-1, -1, 4))
    det_labels = labels.gather(1, order)
    det_boxes = torch.where(valid.unsqueeze(-1), det_boxes,
                            det_boxes.new_zeros(()))
    det_scores = torch.where(valid, det_scores, det_scores.new_zeros(()))
    det_labels = torch.where(valid, det_labels, det_labels.new_zeros(()))
    return num_dets, det_boxes, det_scores, det_labels
