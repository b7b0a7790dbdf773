import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmyoloms.visualization import (merge_runs, plot_training_curves,
                                    read_scalars, run_scalars_files,
                                    save_coco_prediction_grid,
                                    save_prediction_grid, select_detections,
                                    tile_images)

META = dict(classes=('ellipse', 'triangle'),
            palette=[(220, 20, 60), (0, 130, 200)])


def _write_scalars(path, with_val=True):
    lines = []
    for step in range(1, 21):
        lines.append(
            dict(loss=2.0 / step, loss_cls=1.0 / step, loss_bbox=1.0 / step,
                 lr=0.001, epoch=(step - 1) // 10 + 1, iter=step,
                 step=step))
        if with_val and step % 10 == 0:
            lines.append({
                'coco/bbox_mAP': 0.1 * step / 10,
                'coco/bbox_mAP_50': 0.2, 'coco/bbox_mAP_75': 0.1,
                'coco/bbox_mAP_s': 0.0, 'coco/bbox_mAP_m': 0.1,
                'coco/bbox_mAP_l': 0.3, 'step': step // 10
            })
    with open(path, 'w') as f:
        f.write('\n'.join(json.dumps(line) for line in lines) + '\n')


def test_read_scalars_splits_train_and_val(tmp_path):
    path = str(tmp_path / 'scalars.json')
    _write_scalars(path)
    train, val = read_scalars(path)
    assert len(train) == 20 and len(val) == 2
    assert [r['step'] for r in val] == [1, 2]


def test_read_scalars_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        read_scalars(str(tmp_path / 'nothing.json'))
    path = tmp_path / 'broken.json'
    path.write_text('{"loss": 1.0, "step": 1}\n{not json\n')
    with pytest.raises(ValueError, match=r'broken\.json:2 is not JSON'):
        read_scalars(str(path))
    path.write_text('{"lr": 1.0, "step": 1}\n')
    with pytest.raises(ValueError, match='no training loss'):
        read_scalars(str(path))


def test_merge_runs_of_a_resumed_run(tmp_path):
    first, second, empty = (str(tmp_path / n) for n in ('a', 'b', 'c'))
    _write_scalars(first)  # steps 1..20, val at epochs 1, 2
    with open(second, 'w') as f:  # resumed at step 15, one more epoch
        for step in range(15, 31):
            f.write(json.dumps(dict(loss=9.0, step=step)) + '\n')
        f.write(json.dumps({'coco/bbox_mAP': 0.5, 'step': 3}) + '\n')
    with open(empty, 'w') as f:  # restarted after the end: validation only
        f.write(json.dumps({'coco/bbox_mAP': 0.5, 'step': 3}) + '\n')
    train, val = merge_runs([first, second, empty])
    assert [r['step'] for r in train] == list(range(1, 31))
    assert [r['loss'] for r in train[13:15]] == [2.0 / 14, 9.0]
    assert [r['step'] for r in val] == [1, 2, 3]
    with pytest.raises(ValueError, match='holds a training loss record'):
        merge_runs([empty])
    counts = plot_training_curves([first, second, empty],
                                  str(tmp_path / 'c.png'))
    assert counts == dict(train=30, val=3)


def test_run_scalars_files_oldest_start_first(tmp_path):
    for stamp in ('20261202_101500', '20261202_093000'):
        (tmp_path / stamp / 'vis_data').mkdir(parents=True)
        (tmp_path / stamp / 'vis_data' / 'scalars.json').write_text('')
    (tmp_path / 'epoch_1.pth').write_text('')
    assert run_scalars_files(str(tmp_path)) == [
        str(tmp_path / stamp / 'vis_data' / 'scalars.json')
        for stamp in ('20261202_093000', '20261202_101500')
    ]
    with pytest.raises(FileNotFoundError, match='no .*scalars.json in'):
        run_scalars_files(str(tmp_path / 'epoch_1.pth'))


@pytest.mark.parametrize('with_val', [True, False])
def test_plot_training_curves(tmp_path, with_val):
    import cv2
    path = str(tmp_path / 'scalars.json')
    _write_scalars(path, with_val)
    out = str(tmp_path / 'sub' / 'curves.png')
    counts = plot_training_curves(path, out)
    assert counts == dict(train=20, val=2 if with_val else 0)
    img = cv2.imread(out)
    assert img.shape == (450, 1200, 3)
    assert img.std() > 10  # something is drawn


def _sample(boxes, scores, labels):
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.tensor(scores), labels=torch.tensor(labels))
    return sample


def test_select_detections_drops_low_scores_and_inverted_boxes():
    sample = _sample(
        [[10, 10, 50, 40], [10, 10, 50, 40], [50, 10, 10, 40],
         [10, 40, 50, 10], [10, 10, 10, 40]],
        [0.9, 0.1, 0.9, 0.9, 0.9], [0, 1, 0, 1, 0])
    kept = select_detections(sample, score_thr=0.3)
    assert kept.bboxes.tolist() == [[10, 10, 50, 40]]
    assert kept.labels.tolist() == [0]
    assert len(select_detections(sample, score_thr=0.0)) == 2


def test_tile_images_layout():
    images = [np.full((100, 50, 3), v, np.uint8) for v in (10, 20, 30)]
    grid = tile_images(images, ncols=2, tile_size=64)
    assert grid.shape == (128, 128, 3)
    # the first tile is scaled to 64 high, centred, on white margins
    assert (grid[:64, 16:48] == 10).all()
    assert (grid[:64, :10] == 255).all()
    assert (grid[64:, 64:] == 255).all()  # no fourth image
    with pytest.raises(ValueError, match='at least one image'):
        tile_images([])


def test_save_prediction_grid_draws_boxes(tmp_path):
    import cv2
    images = [np.full((120, 160, 3), 128, np.uint8) for _ in range(3)]
    samples = [
        _sample([[20, 20, 100, 90]], [0.9], [0]),
        _sample([[10, 10, 50, 50], [60, 60, 150, 110]], [0.8, 0.1], [1, 0]),
        # an inverted box (untrained head): not drawn, no crash
        _sample([[80, 20, 40, 60]], [0.9], [0]),
    ]
    out = str(tmp_path / 'grid.png')
    grid = save_prediction_grid(images, samples, META, out, score_thr=0.3,
                                ncols=3, tile_size=160)
    assert grid.shape == (160, 480, 3)
    saved = cv2.cvtColor(cv2.imread(out), cv2.COLOR_BGR2RGB)
    assert np.array_equal(saved, grid)

    def changed(tile):
        return int((grid[:, tile * 160:(tile + 1) * 160] != 128).any(
            axis=2)[20:140].sum())

    # boxes drawn in the first two tiles; none above threshold in the third
    assert changed(0) > 200 and changed(1) > 200
    assert changed(2) == 0
    # boxes take their class's palette colour (blended, alpha 0.8)
    for tile, label in ((0, 0), (1, 1)):
        pixels = grid[20:140, tile * 160:(tile + 1) * 160].reshape(-1, 3)
        dist = np.linalg.norm(
            pixels.astype(float) - META['palette'][label], axis=1)
        assert (dist < 40).sum() > 100
    with pytest.raises(ValueError, match='3 images but 2 data samples'):
        save_prediction_grid(images, samples[:2], META, out)
    assert osp.isfile(out)


def test_prediction_grid_with_ground_truth_beside(tmp_path):
    from mmyoloms.visualization.prediction_grid import PANEL_GAP
    image = np.full((120, 160, 3), 128, np.uint8)
    sample = _sample([[20, 20, 100, 90]], [0.9], [0])
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[60., 10., 150., 110.]]),
        labels=torch.tensor([1]))
    grid = save_prediction_grid([image], [sample], META,
                                str(tmp_path / 'g.png'), score_thr=0.3,
                                tile_size=160, draw_gt=True)
    width = 2 * 160 + PANEL_GAP
    assert grid.shape == (160, width, 3)
    gt_panel, pred_panel = grid[:, :160], grid[:, 160 + PANEL_GAP:]
    for panel, label in ((gt_panel, 1), (pred_panel, 0)):
        pixels = panel.reshape(-1, 3).astype(float)
        near = np.linalg.norm(pixels - META['palette'][label], axis=1) < 40
        other = np.linalg.norm(pixels - META['palette'][1 - label],
                               axis=1) < 40
        assert near.sum() > 100 and other.sum() == 0
    with pytest.raises(ValueError, match='no gt_instances'):
        save_prediction_grid([image], [_sample([[0, 0, 5, 5]], [1.], [0])],
                             META, str(tmp_path / 'h.png'), draw_gt=True)


def test_labels_have_one_size_across_panels(tmp_path):
    """The same scene at two resolutions gives the same tile: images are
    scaled to the tile before drawing, so boxes and labels keep one size."""
    small = np.full((120, 160, 3), 128, np.uint8)
    large = np.full((240, 320, 3), 128, np.uint8)
    samples = [_sample([[20, 20, 100, 90]], [0.9], [0]),
               _sample([[40, 40, 200, 180]], [0.9], [0])]
    grid = save_prediction_grid([small, large], samples, META,
                                str(tmp_path / 'g.png'), ncols=2,
                                tile_size=160)
    first, second = grid[:, :160].astype(int), grid[:, 160:].astype(int)
    assert (first != 128).any(axis=2).sum() > 200  # box and label drawn
    assert np.abs(first - second).mean() < 1.0


def test_coco_prediction_grid_from_files(tmp_path):
    """Ground truth of a COCO annotation file beside the detections of a
    COCO results file: category ids map to labels in the file's order."""
    import cv2
    from mmyoloms.visualization.prediction_grid import PANEL_GAP
    (tmp_path / 'img').mkdir()
    for name in ('a.jpg', 'b.jpg', 'c.jpg'):
        cv2.imwrite(str(tmp_path / 'img' / name),
                    np.full((120, 160, 3), 128, np.uint8))
    coco = dict(
        images=[dict(id=7, file_name='a.jpg', width=160, height=120),
                dict(id=8, file_name='b.jpg', width=160, height=120),
                dict(id=9, file_name='c.jpg', width=160, height=120)],
        # COCO (x, y, w, h); category 12 is label 1
        annotations=[dict(id=1, image_id=7, category_id=12,
                          bbox=[60, 10, 90, 100], area=9000)],
        categories=[dict(id=11, name='ellipse'),
                    dict(id=12, name='triangle')])
    results = [
        dict(image_id=7, category_id=11, bbox=[20, 20, 80, 70], score=0.9),
        dict(image_id=7, category_id=12, bbox=[5, 5, 30, 30], score=0.1),
        dict(image_id=9, category_id=12, bbox=[5, 5, 30, 30], score=0.9),
    ]
    ann_file, results_file = tmp_path / 'ann.json', tmp_path / 'res.json'
    ann_file.write_text(json.dumps(coco))
    results_file.write_text(json.dumps(results))
    out = str(tmp_path / 'grid.png')
    grid = save_coco_prediction_grid(
        str(ann_file), str(tmp_path / 'img'), str(results_file), out,
        num_images=2, score_thr=0.3, palette=META['palette'], ncols=2,
        tile_size=160)
    pair = 2 * 160 + PANEL_GAP
    assert grid.shape == (160, 2 * pair, 3) and osp.isfile(out)

    def near(panel, label):
        pixels = panel.reshape(-1, 3).astype(float)
        return int((np.linalg.norm(pixels - META['palette'][label],
                                   axis=1) < 40).sum())

    gt, pred = grid[:, :160], grid[:, 160 + PANEL_GAP:pair]
    assert near(gt, 1) > 100 and near(gt, 0) == 0
    assert near(pred, 0) > 100 and near(pred, 1) == 0  # 0.1: not drawn
    # the second image has neither ground truth nor detections; the third
    # is not drawn
    second = grid[20:140, pair:]
    assert ((second == 128) | (second == 255)).all()

    results.append(dict(image_id=7, category_id=99, bbox=[0, 0, 5, 5],
                        score=0.5))
    results_file.write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r'categories \[99\]'):
        save_coco_prediction_grid(str(ann_file), str(tmp_path / 'img'),
                                  str(results_file), out)
    with pytest.raises(ValueError, match='num_images must be >= 1'):
        save_coco_prediction_grid(str(ann_file), str(tmp_path / 'img'),
                                  str(results_file), out, num_images=0)
