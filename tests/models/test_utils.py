"""The depth rule shared by every backbone and neck of the MS families."""
import pytest

from mmyoloms.models.backbones import (YOLOMSBackbone, YOLOv6MSBackbone,
                                       YOLOv8MSBackbone)
from mmyoloms.models.necks import YOLOMSPAFPN, YOLOv6MSPAFPN, YOLOv8MSPAFPN
from mmyoloms.models.utils import scaled_depth

# (host, arguments without deepen_factor), small widths for speed
HOSTS = [
    (YOLOMSBackbone, dict(widen_factor=0.2)),
    (YOLOMSPAFPN,
     dict(in_channels=[320, 640, 1280], out_channels=240,
          mid_channels=[160, 320, 640], widen_factor=0.2)),
    (YOLOv6MSBackbone, dict(widen_factor=0.2)),
    (YOLOv6MSPAFPN,
     dict(in_channels=[320, 640, 1280], out_channels=[160, 320, 640],
          widen_factor=0.2)),
    (YOLOv8MSBackbone, dict(widen_factor=0.1, last_stage_out_channels=1280)),
    (YOLOv8MSPAFPN,
     dict(in_channels=[320, 640, 1280], out_channels=[320, 640, 1280],
          widen_factor=0.1)),
]


def _depths(model):
    """Layers in every non-identity branch of every block."""
    return [
        len(branch) for m in model.modules()
        if hasattr(m, 'mid_convs') for branch in m.mid_convs
        if len(list(branch.parameters()))
    ]


@pytest.mark.parametrize('host, kwargs', HOSTS,
                         ids=[h.__name__ for h, _ in HOSTS])
@pytest.mark.parametrize('nominal, usual, depth', [(1 / 3, 0.33, 1),
                                                   (2 / 3, 0.67, 2)])
def test_mmyolo_deepen_factors_give_the_nominal_depth(host, kwargs, nominal,
                                                      usual, depth):
    """mmyolo's configs write 0.33 and 0.67 for 1/3 and 2/3: the same
    blocks, with the same parameter shapes."""
    a = host(deepen_factor=nominal, **kwargs)
    b = host(deepen_factor=usual, **kwargs)
    assert set(_depths(a)) == {depth}
    assert {k: v.shape for k, v in a.state_dict().items()} == \
        {k: v.shape for k, v in b.state_dict().items()}


def test_scaled_depth():
    assert [scaled_depth(3, d) for d in (1 / 3, 0.33, 2 / 3, 0.67, 1.0)] \
        == [1, 1, 2, 2, 3]
    assert scaled_depth(3, 0.25) == 1  # 0.75 rounds to one layer
    assert scaled_depth(4, 0.5) == 2
    for layers_num, deepen in ((3, 0.1), (1, 0.4), (3, 0)):
        with pytest.raises(ValueError, match='layers_num'):
            scaled_depth(layers_num, deepen)
