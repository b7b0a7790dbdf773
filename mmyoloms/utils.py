"""Small helpers every part of mmyoloms shares: config lookup, and the
names and the table of the COCO figures mmdet's ``CocoMetric`` writes."""
import os.path as osp
from typing import Sequence, Union

from mmengine.config import Config

# The six COCO bbox figures of mmdet's CocoMetric: (short label, metric key).
COCO_BBOX_METRICS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                     ('AP75', 'coco/bbox_mAP_75'), ('APs', 'coco/bbox_mAP_s'),
                     ('APm', 'coco/bbox_mAP_m'), ('APl', 'coco/bbox_mAP_l'))


def positive_int(value, name: str) -> int:
    """``value`` if it is an int >= 1 (a bool is not).

    Raises:
        ValueError: It is not, naming the argument ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be an int >= 1, got {value!r}')
    return value


def resolve_config_path(config: str, relative_to: str = '.') -> str:
    """The file of a config given as a path or as ``package::path``.

    ``package::path`` names a config shipped with an installed OpenMMLab
    package (``mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py``),
    found under the package's ``.mim/configs``; any other path is taken
    relative to ``relative_to``.

    Raises:
        FileNotFoundError: The file does not exist.
    """
    if '::' in config:
        from mmengine.utils import get_installed_path
        package, rel = config.split('::', 1)
        path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
    else:
        path = osp.normpath(osp.join(relative_to, config))
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {config} ({path})')
    return path


def load_config(config: Union[str, Config]) -> Config:
    """Load a config file, or a package config such as
    ``mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py``; a
    :class:`Config` is returned as it is."""
    if isinstance(config, Config):
        return config
    return Config.fromfile(resolve_config_path(config))


def format_ap_table(rows: Sequence[dict]) -> str:
    """A Markdown table of the six COCO bbox figures, one line per row.

    Args:
        rows (Sequence[dict]): Each with ``model`` (the line's name) and
            ``metrics`` (:data:`COCO_BBOX_METRICS` keys such as
            ``coco/bbox_mAP``, as ``CocoMetric`` returns them; a missing
            figure shows as ``nan``, -1 means that the set has no object of
            that size).

    Returns:
        str: The table, without a trailing newline.
    """
    lines = [
        '| model | ' +
        ' | '.join(label for label, _ in COCO_BBOX_METRICS) + ' |',
        '|' + ' --- |' * (len(COCO_BBOX_METRICS) + 1)
    ]
    for row in rows:
        cells = (f'{row["metrics"].get(key, float("nan")):.3f}'
                 for _, key in COCO_BBOX_METRICS)
        lines.append(f'| {row["model"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
