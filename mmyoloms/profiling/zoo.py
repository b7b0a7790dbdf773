"""The detectors of the AP-latency comparison (:mod:`.pareto`), each with
its config and its COCO box AP, quoted from its publisher, never measured
here.

- YOLO-MS and its MS-Block variants of YOLOv6 and YOLOv8: the model zoo
  tables of the official release's README (:data:`YOLOMS_AP_SOURCE`),
  stored below in :data:`YOLOMS_QUOTED_AP`.
- RTMDet, YOLOv6 and YOLOv8: the ``box AP`` of the config's entry in the
  ``metafile.yml`` of the installed mmyolo, read when the list is made
  (:func:`metafile_box_ap`).

Every model is built from its config (random weights: enough for
latency), so that no download is needed.
"""
import dataclasses
import os.path as osp
from typing import List, Optional, Sequence, Tuple

#: Where the quoted AP of the YOLO-MS family comes from.
YOLOMS_AP_SOURCE = ('YOLO-MS official README, model zoo '
                    '(github.com/FishAndWasabi/YOLO-MS@cf728c8)')

#: ``(name, config in this repository, quoted COCO val box AP)``. The SE
#: variants are the configs with SE attention ("*" in the README).
YOLOMS_QUOTED_AP = (
    ('YOLO-MS-XS', 'configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py',
     43.1),
    ('YOLO-MS-XS-SE',
     'configs/yoloms/yoloms-xs-se_syncbn_fast_8xb8-300e_coco.py', 43.4),
    ('YOLO-MS-S', 'configs/yoloms/yoloms-s_syncbn_fast_8xb8-300e_coco.py',
     46.2),
    ('YOLO-MS-S-SE',
     'configs/yoloms/yoloms-s-se_syncbn_fast_8xb8-300e_coco.py', 46.2),
    ('YOLO-MS-M', 'configs/yoloms/yoloms_syncbn_fast_8xb8-300e_coco.py',
     50.8),
    ('YOLO-MS-M-SE', 'configs/yoloms/yoloms-se_syncbn_fast_8xb8-300e_coco.py',
     50.8),
    ('YOLOv6-MS-t',
     'configs/yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py', 43.5),
    ('YOLOv8-MS-n',
     'configs/yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py', 40.3),
)

#: ``(name, family, mmyolo config)`` of the peers; AP from the metafile.
#: YOLOv6 n/t/s: the 400-epoch configs, the ones the metafile lists.
PEERS = (
    ('RTMDet-tiny', 'RTMDet',
     'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'),
    ('RTMDet-s', 'RTMDet',
     'mmyolo::rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py'),
    ('RTMDet-m', 'RTMDet',
     'mmyolo::rtmdet/rtmdet_m_syncbn_fast_8xb32-300e_coco.py'),
    ('YOLOv6-n', 'YOLOv6',
     'mmyolo::yolov6/yolov6_n_syncbn_fast_8xb32-400e_coco.py'),
    ('YOLOv6-t', 'YOLOv6',
     'mmyolo::yolov6/yolov6_t_syncbn_fast_8xb32-400e_coco.py'),
    ('YOLOv6-s', 'YOLOv6',
     'mmyolo::yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py'),
    ('YOLOv8-n', 'YOLOv8',
     'mmyolo::yolov8/yolov8_n_syncbn_fast_8xb16-500e_coco.py'),
    ('YOLOv8-s', 'YOLOv8',
     'mmyolo::yolov8/yolov8_s_syncbn_fast_8xb16-500e_coco.py'),
    ('YOLOv8-m', 'YOLOv8',
     'mmyolo::yolov8/yolov8_m_syncbn_fast_8xb16-500e_coco.py'),
)

#: Left out of the default list: their quoted AP equals that of the same
#: size without SE (46.2, 50.8), with slightly more compute, so they can
#: only repeat a point of the plain model. ``--models`` takes them.
SAME_AP_AS_PLAIN = ('YOLO-MS-S-SE', 'YOLO-MS-M-SE')


@dataclasses.dataclass(frozen=True)
class ZooModel:
    """One detector of the comparison.

    Attributes:
        name (str): Its name in tables and plots.
        config (str): Config file, or ``package::path``.
        family (str): ``'YOLO-MS'`` for every model with MS-Blocks, else
            the peer's family (``'RTMDet'``, ``'YOLOv6'``, ``'YOLOv8'``).
        ap (float): COCO val box AP (percent), quoted.
        ap_source (str): Where ``ap`` is quoted from.
    """
    name: str
    config: str
    family: str
    ap: float
    ap_source: str

    @property
    def multi_scale(self) -> bool:
        """Whether it is one of the YOLO-MS models (MS-Blocks)."""
        return self.family == 'YOLO-MS'


def repository_root() -> str:
    """The checkout this package lives in (its configs are there)."""
    import mmyoloms
    return osp.dirname(osp.dirname(osp.abspath(mmyoloms.__file__)))


def metafile_box_ap(config: str) -> Tuple[float, str]:
    """The COCO ``box AP`` of an installed OpenMMLab config, from the
    ``metafile.yml`` beside it.

    Args:
        config (str): ``package::dir/file.py``, e.g.
            ``mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py``.

    Returns:
        tuple[float, str]: The AP and its source (package, version and
        metafile).

    Raises:
        ValueError: ``config`` is not a ``package::path`` config, or the
            metafile has no box AP for it.
        FileNotFoundError: No metafile beside the config.
    """
    from importlib import metadata

    import yaml
    from mmengine.utils import get_installed_path
    if '::' not in config:
        raise ValueError('config must be a package config such as '
                         f'mmyolo::rtmdet/..., got {config!r}')
    package, rel = config.split('::', 1)
    configs = osp.join(get_installed_path(package), '.mim', 'configs')
    meta_rel = osp.join(osp.dirname(rel), 'metafile.yml')
    meta_file = osp.join(configs, meta_rel)
    if not osp.isfile(meta_file):
        raise FileNotFoundError(
            f'no metafile for {config}: {meta_file} does not exist')
    with open(meta_file, encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    target = osp.normpath(osp.join('configs', rel))
    for model in meta.get('Models', []):
        if osp.normpath(model.get('Config', '')) != target:
            continue
        for result in model.get('Results', []):
            ap = result.get('Metrics', {}).get('box AP')
            if result.get('Dataset') == 'COCO' and ap is not None:
                version = metadata.version(package)
                return float(ap), (f'{package} {version} metafile '
                                   f'configs/{meta_rel}')
    raise ValueError(f'{meta_file} lists no COCO box AP for {target}')


def zoo_models(names: Optional[Sequence[str]] = None) -> List[ZooModel]:
    """The models of the comparison, their AP quoted.

    Args:
        names (Sequence[str], optional): Models to take, by name (see
            :data:`YOLOMS_QUOTED_AP` and :data:`PEERS`), in this order.
            Defaults to None: every model but :data:`SAME_AP_AS_PLAIN`.

    Returns:
        list[ZooModel]

    Raises:
        ValueError: An unknown or repeated name (the known ones listed).
    """
    root = repository_root()
    table = {
        name: (osp.join(root, config), 'YOLO-MS', ap, YOLOMS_AP_SOURCE)
        for name, config, ap in YOLOMS_QUOTED_AP
    }
    table.update({name: (config, family, None, None)
                  for name, family, config in PEERS})
    if names is None:
        names = [n for n in table if n not in SAME_AP_AS_PLAIN]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f'unknown model(s) {unknown}; known: '
                         f'{list(table)}')
    if len(set(names)) != len(names):
        raise ValueError(f'models must not repeat, got {list(names)}')
    models = []
    for name in names:
        config, family, ap, source = table[name]
        if ap is None:
            ap, source = metafile_box_ap(config)
        models.append(ZooModel(name, config, family, ap, source))
    return models
