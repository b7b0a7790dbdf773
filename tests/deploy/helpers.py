"""Small detectors with realistic random weights for the deploy tests."""
import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps
from mmengine.dataset import pseudo_collate

from mmyoloms.deploy import (build_detector, build_test_pipeline,
                             calibrate_batch_norms)

XS_CONFIG = 'configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py'
TINY_CONFIG = 'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR noise image (letterboxed by the test pipeline)."""
    return np.random.default_rng(seed).integers(
        0, 256, (height, width, 3), dtype=np.uint8)


def randomize_batch_norms(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters, so that folding
    them is really exercised (the defaults make BN nearly the identity)."""
    generator = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


def detector_with_detections(config: str, image: np.ndarray, shape,
                             score_thr: float = 0.3):
    """A random detector whose scores spread over (0, 1) and whose boxes
    are valid, so that NMS has real work on ``image``.

    BN statistics are calibrated on the image; the prediction convs get
    weights that give logits around -2 +- 0.5 and box distances of a few
    strides (a fresh head predicts a constant 0.01 everywhere).

    Returns:
        tuple: the eager detector (eval) and the test batch ``data``.
    """
    model = build_detector(config)
    pipeline = build_test_pipeline(model.cfg, shape)
    data = pseudo_collate([pipeline(dict(img=image, img_id=0))])
    calibrate_batch_norms(model, model.data_preprocessor(data,
                                                         False)['inputs'])
    generator = torch.Generator().manual_seed(1)
    head = model.bbox_head.head_module
    with torch.no_grad():
        for conv in head.rtm_cls:
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=generator) * 0.05)
            conv.bias.fill_(-2.)
        for conv in head.rtm_reg:
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=generator) * 0.05)
            conv.bias.fill_(0.7)
    model.bbox_head.test_cfg.score_thr = score_thr
    return model, data


def match_detections(pred, ref, box_tol: float = 1.0,
                     score_tol: float = 1e-3) -> int:
    """Pair each ``pred`` detection with an unused ``ref`` one of the same
    label, boxes within ``box_tol`` px and scores within ``score_tol``
    (order may differ between near-equal scores). Returns the number of
    pairs."""
    used = torch.zeros(len(ref), dtype=torch.bool)
    matched = 0
    for box, score, label in zip(pred.bboxes, pred.scores, pred.labels):
        ok = ((ref.labels == label) & ~used
              & ((ref.bboxes - box).abs().amax(1) <= box_tol)
              & ((ref.scores - score).abs() <= score_tol))
        candidates = torch.nonzero(ok).flatten()
        if len(candidates):
            used[candidates[0]] = True
            matched += 1
    return matched

S_CONFIG = 'configs/yoloms/yoloms-s_syncbn_fast_8xb8-300e_coco.py'


def isolated_detections(instances, iou_thr: float):
    """The detections with no other detection of their label overlapping
    them by more than ``iou_thr``.

    Boxes are clipped to the image after NMS: boxes that reach past the
    border can both survive NMS and end up nearly the same box, and which
    of such a cluster survive flips with the last bits of the IoU, so two
    runtimes agree one-to-one only on the detections clear of such
    neighbours."""
    iou = bbox_overlaps(instances.bboxes, instances.bboxes)
    iou = iou * (instances.labels[:, None] == instances.labels[None])
    iou.fill_diagonal_(0)
    return instances[(iou <= iou_thr).all(1)]
