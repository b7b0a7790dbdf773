"""Plot the loss and validation AP curves of an MMEngine training run."""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple, Union

from ..utils import COCO_BBOX_METRICS

LOSS_KEYS = ('loss', 'loss_cls', 'loss_bbox')


def read_scalars(scalars_file: str) -> Tuple[List[dict], List[dict]]:
    """Split MMEngine's ``vis_data/scalars.json`` into train and val records.

    The file holds one JSON object per line: training records carry
    ``loss`` and ``step`` (the iteration), validation records carry
    ``coco/bbox_mAP`` and ``step`` (the epoch).

    Args:
        scalars_file (str): Path of ``scalars.json``.

    Returns:
        tuple[list[dict], list[dict]]: Training and validation records in
        file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: A line is not JSON, or the file has no training record.
    """
    if not osp.isfile(scalars_file):
        raise FileNotFoundError(f'scalars file {scalars_file} does not exist')
    train, val = [], []
    with open(scalars_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{scalars_file}:{lineno} is not JSON: '
                                 f'{e}') from e
            if 'loss' in record:
                train.append(record)
            elif COCO_BBOX_METRICS[0][1] in record:
                val.append(record)
    if not train:
        raise ValueError(f'{scalars_file} holds no training loss record')
    return train, val


def run_scalars_files(work_dir: str) -> List[str]:
    """The ``vis_data/scalars.json`` of every start of an MMEngine run in
    ``work_dir`` (each start logs to its own ``YYYYMMDD_HHMMSS`` folder),
    oldest first: what :func:`merge_runs` takes for a resumed run.

    Raises:
        FileNotFoundError: ``work_dir`` holds none.
    """
    found = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json in {work_dir}: not an MMEngine '
            'work dir, or no run in it logged anything')
    return found


def merge_runs(scalars_files: Sequence[str]) -> Tuple[List[dict], List[dict]]:
    """Join the records of a run that was interrupted and resumed.

    Each start of a run writes its own ``scalars.json``; a resumed run
    repeats the steps after its checkpoint. Records are keyed by ``step``
    (iteration for training, epoch for validation); a later file wins.

    Args:
        scalars_files (Sequence[str]): ``scalars.json`` files in run order.

    Returns:
        tuple[list[dict], list[dict]]: Training and validation records,
        sorted by step.

    Raises:
        ValueError: No file holds a training record.
    """
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for path in scalars_files:
        try:
            run_train, run_val = read_scalars(path)
        except ValueError as e:
            if 'no training loss record' not in str(e):
                raise
            continue  # e.g. restarted after the last epoch: nothing new
        train.update((r['step'], r) for r in run_train)
        val.update((r['step'], r) for r in run_val)
    if not train:
        raise ValueError(f'none of {list(scalars_files)} holds a training '
                         'loss record')
    return ([train[k] for k in sorted(train)], [val[k] for k in sorted(val)])


def plot_training_curves(scalars_files: Union[str, Sequence[str]],
                         out_file: str) -> Dict[str, int]:
    """Draw the training losses and the validation APs into one PNG.

    Left panel: ``loss``, ``loss_cls``, ``loss_bbox`` against the
    iteration. Right panel: AP, AP50, AP75, APs, APm, APl against the epoch
    (left empty, with a note, when the run was never validated).

    Args:
        scalars_files (str or Sequence[str]): MMEngine's
            ``vis_data/scalars.json`` of the run, or of each of its starts
            in order when it was resumed (see :func:`merge_runs`).
        out_file (str): Output PNG path (directories are created).

    Returns:
        dict[str, int]: Number of plotted ``train`` and ``val`` points.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if isinstance(scalars_files, str):
        scalars_files = [scalars_files]
    train, val = merge_runs(scalars_files)
    fig, (ax_loss, ax_ap) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key in LOSS_KEYS:
        points = [(r['step'], r[key]) for r in train if key in r]
        if points:
            ax_loss.plot(*zip(*points), label=key)
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel('training loss')
    ax_loss.set_title('training loss')
    ax_loss.grid(alpha=0.3)
    ax_loss.legend()

    if val:
        for label, key in COCO_BBOX_METRICS:
            points = [(r['step'], r[key]) for r in val if key in r]
            if points:
                ax_ap.plot(*zip(*points), marker='o', label=label)
        ax_ap.legend()
    else:
        ax_ap.text(0.5, 0.5, 'no validation yet', ha='center',
                   va='center', transform=ax_ap.transAxes)
    ax_ap.set_xlabel('epoch')
    ax_ap.set_ylabel('COCO bbox AP (val)')
    ax_ap.set_ylim(0, 1)
    ax_ap.set_title('validation AP')
    ax_ap.grid(alpha=0.3)
    fig.tight_layout()
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return dict(train=len(train), val=len(val))
