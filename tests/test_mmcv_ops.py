"""The compiled mmcv ops the detectors here run, against plain references.

`make setup` builds mmcv's C++ ops itself (scripts/build_mmcv.py); these
tests check that the wheel it produced imports and computes what the ops are
defined to compute: NMS and batched NMS (RTMDet, YOLO, RetinaNet and the
R-CNN heads) and RoIAlign (Faster/Mask R-CNN), forward and backward.
"""
import importlib
import math

import pytest
import torch


def test_mmcv_ops_import_with_compiled_extension():
    ops = importlib.import_module('mmcv.ops')
    # Every ops module asserts at import that its functions are in mmcv._ext.
    ext = importlib.import_module('mmcv._ext')
    for name in ('nms', 'softnms', 'nms_match', 'roi_align_forward',
                 'roi_align_backward', 'deform_conv_forward'):
        assert hasattr(ext, name), name
    assert callable(ops.nms) and callable(ops.batched_nms)
    assert issubclass(ops.RoIAlign, torch.nn.Module)


def _random_boxes(generator, num, size=64.):
    xy = torch.rand(num, 2, generator=generator) * size
    wh = torch.rand(num, 2, generator=generator) * 24 + 1
    return torch.cat([xy, xy + wh], 1)


def _pairwise_iou(boxes, offset=0):
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt + offset).clamp(min=0).prod(-1)
    area = (boxes[:, 2:] - boxes[:, :2] + offset).prod(-1)
    return inter / (area[:, None] + area[None, :] - inter)


def _greedy_nms(boxes, scores, iou_thr, offset=0):
    """Indices kept by greedy NMS, highest score first (IoU > thr drops)."""
    iou = _pairwise_iou(boxes, offset).tolist()
    kept = []
    for i in scores.argsort(descending=True).tolist():
        if all(iou[i][j] <= iou_thr for j in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize('iou_thr, offset', [(0.5, 0), (0.3, 0), (0.6, 1)])
def test_nms_matches_greedy_reference(iou_thr, offset):
    from mmcv.ops import nms
    generator = torch.Generator().manual_seed(0)
    boxes = _random_boxes(generator, 200)
    scores = torch.rand(200, generator=generator)
    dets, keep = nms(boxes, scores, iou_thr, offset=offset)
    expected = _greedy_nms(boxes, scores, iou_thr, offset)
    assert 10 < len(expected) < 200  # the threshold matters on this input
    assert keep.tolist() == expected
    assert torch.equal(dets, torch.cat([boxes[keep], scores[keep, None]], 1))


def test_nms_empty_input():
    from mmcv.ops import nms
    dets, keep = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert dets.shape == (0, 5) and keep.numel() == 0


def test_batched_nms_is_nms_per_class():
    from mmcv.ops import batched_nms
    generator = torch.Generator().manual_seed(1)
    boxes = _random_boxes(generator, 300)
    scores = torch.rand(300, generator=generator)
    labels = torch.randint(0, 4, (300, ), generator=generator)
    dets, keep = batched_nms(boxes, scores, labels,
                             dict(type='nms', iou_threshold=0.45))
    expected = []
    for c in range(4):
        idx = (labels == c).nonzero().flatten()
        expected += idx[_greedy_nms(boxes[idx], scores[idx], 0.45)].tolist()
    expected.sort(key=lambda i: -scores[i].item())
    assert keep.tolist() == expected
    assert torch.equal(dets[:, :4], boxes[keep])
    assert torch.equal(dets[:, 4], scores[keep])
    # Classes do not suppress each other: class-agnostic NMS keeps fewer.
    _, agnostic = batched_nms(boxes, scores, labels,
                              dict(type='nms', iou_threshold=0.45),
                              class_agnostic=True)
    assert agnostic.tolist() == _greedy_nms(boxes, scores, 0.45)
    assert len(agnostic) < len(expected)


def _bilinear(feature, y, x):
    """Bilinear sample of a C x H x W map as RoIAlign defines it."""
    height, width = feature.shape[1:]
    if y < -1 or y > height or x < -1 or x > width:
        return feature.new_zeros(feature.shape[0])
    y, x = max(y, 0.), max(x, 0.)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * feature[:, y0, x0] +
            (1 - ly) * lx * feature[:, y0, x1] +
            ly * (1 - lx) * feature[:, y1, x0] + ly * lx * feature[:, y1, x1])


def _roi_align_reference(features, rois, out_size, scale, sampling_ratio,
                         aligned):
    """Average of bilinear samples on a regular grid in each output bin."""
    out = features.new_zeros(len(rois), features.shape[1], *out_size)
    offset = 0.5 if aligned else 0.
    for r, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1 = x1 * scale - offset, y1 * scale - offset
        roi_w, roi_h = x2 * scale - offset - x1, y2 * scale - offset - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.), max(roi_h, 1.)
        bin_h, bin_w = roi_h / out_size[0], roi_w / out_size[1]
        grid_h = sampling_ratio or math.ceil(roi_h / out_size[0])
        grid_w = sampling_ratio or math.ceil(roi_w / out_size[1])
        for i in range(out_size[0]):
            for j in range(out_size[1]):
                total = 0
                for iy in range(grid_h):
                    for ix in range(grid_w):
                        y = y1 + (i + (iy + .5) / grid_h) * bin_h
                        x = x1 + (j + (ix + .5) / grid_w) * bin_w
                        total = total + _bilinear(features[int(b)], y, x)
                out[r, :, i, j] = total / max(grid_h * grid_w, 1)
    return out


def _rois(generator, num, batch, size):
    boxes = _random_boxes(generator, num, size)
    # Some boxes reach past the border, where samples read zeros.
    boxes[:3] = torch.tensor([[-6., -4., 10., 9.], [30., 28., 45., 50.],
                              [5., 5., 5.5, 5.5]], dtype=boxes.dtype)
    index = torch.randint(0, batch, (num, 1), generator=generator)
    return torch.cat([index.to(boxes.dtype), boxes], 1)


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_matches_reference(aligned, sampling_ratio):
    from mmcv.ops import RoIAlign
    generator = torch.Generator().manual_seed(2)
    features = torch.rand(2, 3, 20, 24, generator=generator,
                          dtype=torch.float64)
    rois = _rois(generator, 12, 2, 40.).double()
    layer = RoIAlign((4, 5), spatial_scale=0.5,
                     sampling_ratio=sampling_ratio, aligned=aligned)
    out = layer(features, rois)
    expected = _roi_align_reference(features, rois, (4, 5), 0.5,
                                     sampling_ratio, aligned)
    assert out.shape == (12, 3, 4, 5)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    # Float32, as detectors run it.
    out32 = layer(features.float(), rois.float())
    torch.testing.assert_close(out32, expected.float(), rtol=1e-5, atol=1e-5)


def test_roi_align_gradient_is_the_derivative():
    from mmcv.ops import roi_align
    generator = torch.Generator().manual_seed(3)
    features = torch.rand(1, 2, 9, 11, generator=generator,
                          dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0., 1.3, 0.7, 7.9, 6.2], [0., 3.1, 2.2, 9.6, 8.8]],
                        dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda f: roi_align(f, rois, (3, 3), 1.0, 2, 'avg', True),
        (features, ))
