"""mmyoloms.utils.format_ap_table: the one AP table of the demo and of
tools/test_deployed.py."""
from mmyoloms.utils import format_ap_table


def test_format_ap_table():
    metrics = {'coco/bbox_mAP': 0.3194, 'coco/bbox_mAP_50': 0.5,
               'coco/bbox_mAP_75': 0.25, 'coco/bbox_mAP_s': -1.0,
               'coco/bbox_mAP_m': 0.4449}
    table = format_ap_table([dict(model='eager', metrics=metrics),
                             dict(model='int8', metrics={})])
    assert table.split('\n') == [
        '| model | AP | AP50 | AP75 | APs | APm | APl |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| eager | 0.319 | 0.500 | 0.250 | -1.000 | 0.445 | nan |',
        '| int8 | nan | nan | nan | nan | nan | nan |',
    ]
