"""Run mmcv's CPU ops on fixed inputs and save, or compare, their outputs.

Used to check that two builds of the mmcv wheel compute the same thing::

    PYTHONPATH=unpacked_wheel_a python scripts/mmcv_ops_outputs.py run a.pt
    PYTHONPATH=unpacked_wheel_b python scripts/mmcv_ops_outputs.py run b.pt
    python scripts/mmcv_ops_outputs.py compare a.pt b.pt

Covers NMS (plain, offset 1, batched, soft, match, rotated), box IoUs,
RoIAlign (aligned or not, adaptive or fixed sampling, avg and max; forward
and backward), rotated RoIAlign, deformable convolutions (forward and
backward), PSAMask, active_rotated_filter, rotated_feature_align,
points_in_boxes_cpu and bezier_align.
"""
import argparse
import sys

import torch


def ops_outputs():
    import mmcv
    import mmcv.ops as ops
    print(f'mmcv from {mmcv.__file__}', file=sys.stderr)
    g = torch.Generator().manual_seed(0)
    out = {}

    def boxes(n, size=100.):
        xy = torch.rand(n, 2, generator=g) * size
        wh = torch.rand(n, 2, generator=g) * 30 + 2
        return torch.cat([xy, xy + wh], 1)

    def uniform_(module):
        for p in module.parameters():
            p.data.uniform_(-0.5, 0.5, generator=g)
        return module

    b, s = boxes(300), torch.rand(300, generator=g)
    out['nms'] = ops.nms(b, s, 0.5)
    out['nms_offset1'] = ops.nms(b, s, 0.3, offset=1)
    labels = torch.randint(0, 5, (300, ), generator=g)
    out['batched_nms'] = ops.batched_nms(
        b, s, labels, dict(type='nms', iou_threshold=0.6))
    out['soft_nms_gaussian'] = ops.soft_nms(
        b, s, 0.5, sigma=0.5, min_score=0.01, method='gaussian')
    out['soft_nms_linear'] = ops.soft_nms(
        b, s, 0.5, min_score=0.01, method='linear')
    out['nms_match'] = [
        torch.as_tensor(x)
        for x in ops.nms_match(torch.cat([b, s[:, None]], 1), 0.5)
    ]
    out['bbox_overlaps'] = ops.bbox_overlaps(b[:50], b[50:120])
    out['bbox_overlaps_aligned_iof'] = ops.bbox_overlaps(
        b[:50], b[50:100], aligned=True, mode='iof')
    rotated = torch.cat([
        b[:, :2] + 15,
        torch.rand(300, 2, generator=g) * 20 + 3,
        torch.rand(300, 1, generator=g) - .5
    ], 1)
    out['box_iou_rotated'] = ops.box_iou_rotated(rotated[:40],
                                                 rotated[40:90])
    out['nms_rotated'] = ops.nms_rotated(rotated, s, 0.3)

    feat = torch.rand(2, 8, 32, 32, generator=g, requires_grad=True)
    rois = torch.cat([
        torch.randint(0, 2, (20, 1), generator=g).float(),
        boxes(20, 20.)
    ], 1)
    weights = torch.linspace(0, 1, 20 * 8 * 7 * 7).view(20, 8, 7, 7)
    for aligned in (True, False):
        for ratio in (0, 2):
            y = ops.RoIAlign((7, 7), 0.5, ratio, aligned=aligned)(feat, rois)
            grad, = torch.autograd.grad((y * weights).sum(), feat)
            out[f'roi_align_{aligned}_{ratio}'] = y.detach()
            out[f'roi_align_grad_{aligned}_{ratio}'] = grad
    out['roi_align_max'] = ops.roi_align(feat, rois, (5, 5), 0.5, 2, 'max',
                                         False).detach()
    rotated_rois = torch.cat([rois[:, :1], rotated[:20] / 5], 1)
    out['roi_align_rotated'] = ops.roi_align_rotated(
        feat, rotated_rois, (7, 7), 0.5, 2, True, False).detach()

    x = torch.rand(1, 4, 10, 10, generator=g, requires_grad=True)
    for name, layer in (('deform_conv', ops.DeformConv2dPack),
                        ('modulated_deform_conv',
                         ops.ModulatedDeformConv2dPack)):
        y = uniform_(layer(4, 6, 3, padding=1))(x)
        out[name] = y.detach()
        out[f'{name}_grad'] = torch.autograd.grad(y.sum(), x)[0]
    out['psamask'] = ops.PSAMask('collect', (5, 5))(
        torch.rand(1, 25, 6, 6, generator=g))
    out['active_rotated_filter'] = ops.active_rotated_filter(
        torch.rand(4, 2, 8, 3, 3, generator=g),
        torch.randint(1, 9, (3, 3, 8, 8), generator=g).int())
    rbboxes = torch.cat([
        torch.rand(1, 16, 16, 2, generator=g) * 16,
        torch.rand(1, 16, 16, 2, generator=g) * 5 + 1,
        torch.rand(1, 16, 16, 1, generator=g)
    ], -1)
    out['rotated_feature_align'] = ops.rotated_feature_align(
        torch.rand(1, 4, 16, 16, generator=g), rbboxes, 1 / 8, 5)
    out['points_in_boxes_cpu'] = ops.points_in_boxes_cpu(
        torch.rand(1, 100, 3, generator=g) * 10,
        torch.tensor([[[5., 5., 0., 4., 4., 6., 0.3]]]))
    beziers = torch.cat(
        [rois[:, :1], torch.rand(20, 16, generator=g) * 20], 1)
    out['bezier_align'] = ops.bezier_align(feat.detach(), beziers, (7, 7),
                                           0.5, 2, True)
    return out


def _tensors(value):
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in _tensors(v)]


def compare(a, b):
    """Names of the outputs that are not bitwise identical."""
    if a.keys() != b.keys():
        raise ValueError(f'different checks: {sorted(a.keys() ^ b.keys())}')
    differ = []
    for name in a:
        x, y = _tensors(a[name]), _tensors(b[name])
        if len(x) != len(y) or not all(
                u.shape == v.shape and torch.equal(u, v)
                for u, v in zip(x, y)):
            differ.append(name)
    return differ


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    run = sub.add_parser('run', help='save the outputs of this mmcv')
    run.add_argument('out')
    cmp = sub.add_parser('compare', help='compare two saved outputs')
    cmp.add_argument('a')
    cmp.add_argument('b')
    args = parser.parse_args(argv)
    if args.command == 'run':
        torch.save(ops_outputs(), args.out)
        return 0
    a, b = torch.load(args.a), torch.load(args.b)
    differ = compare(a, b)
    print(f'{len(a)} outputs compared: ' +
          (f'differ in {differ}' if differ else 'bitwise identical'))
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main())
