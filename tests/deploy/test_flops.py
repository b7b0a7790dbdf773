from .helpers import XS_CONFIG
from .test_export import _load_tool


def test_get_flops_tool():
    tool = _load_tool('get_flops')
    eager = tool.main([XS_CONFIG, '--shape', '640', '640'])
    # the figures of the official YOLO-MS-XS (DESIGN.md, mmengine count)
    assert eager['params'] == 4_493_932
    assert round(eager['flops'] / 1e9, 3) == 8.739
    deployed = tool.main([XS_CONFIG, '--shape', '640', '640', '--deploy'])
    # BN layers are gone; the head's convs shared between levels are untied
    # by folding each level's BN, so there are more parameters
    assert deployed['flops'] < eager['flops']
    assert deployed['params'] > eager['params']
