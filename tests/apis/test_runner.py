"""mmyoloms.apis.runner: what tools/train.py and tools/test.py share (the
runner arguments, the config they resolve, the runner they build)."""
import argparse
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmyolo.registry import RUNNERS
from mmyoloms.apis.runner import (add_runner_args, build_runner,
                                  load_runner_config, parse_runner_args)


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_runner_args(parser)
    return parser


def _config(tmp_path, text='model = dict(type="M")\n', name='my_cfg.py'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_parse_defaults_and_values(monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = parse_runner_args(_parser(), ['c.py'])
    assert args.launcher == 'none'
    assert args.cfg_options is None
    assert args.local_rank == 0
    args = parse_runner_args(_parser(), [
        'c.py', '--launcher', 'pytorch', '--cfg-options', 'a.b=1', 'c=x',
        '--local-rank', '3'
    ])
    assert args.launcher == 'pytorch'
    assert args.cfg_options == {'a.b': 1, 'c': 'x'}
    assert args.local_rank == 3


def test_parse_sets_local_rank_only_when_the_launcher_did_not(monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    parse_runner_args(_parser(), ['c.py', '--local_rank', '2'])
    assert os.environ['LOCAL_RANK'] == '2'
    # torch.distributed.run sets LOCAL_RANK itself: it wins
    monkeypatch.setenv('LOCAL_RANK', '1')
    parse_runner_args(_parser(), ['c.py', '--local_rank', '2'])
    assert os.environ['LOCAL_RANK'] == '1'


def test_parse_refuses_an_unknown_launcher():
    with pytest.raises(SystemExit):
        parse_runner_args(_parser(), ['c.py', '--launcher', 'ssh'])


def test_config_work_dir_defaults_to_work_dirs_config_name(tmp_path):
    cfg = load_runner_config(_config(tmp_path))
    assert cfg.work_dir == osp.join('./work_dirs', 'my_cfg')
    assert cfg.launcher == 'none'


def test_config_work_dir_argument_wins_over_the_configs(tmp_path):
    path = _config(tmp_path, 'work_dir = "from_cfg"\n')
    assert load_runner_config(path).work_dir == 'from_cfg'
    assert load_runner_config(path, work_dir='arg').work_dir == 'arg'
    # --cfg-options are merged before the default applies
    cfg = load_runner_config(_config(tmp_path), cfg_options={
        'work_dir': 'opt', 'model.depth': 3})
    assert cfg.work_dir == 'opt'
    assert cfg.model == dict(type='M', depth=3)


def test_config_launcher_is_recorded(tmp_path):
    cfg = load_runner_config(_config(tmp_path), launcher='pytorch')
    assert cfg.launcher == 'pytorch'


def test_config_missing_file_names_it(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_runner_config(missing)


class _RecordingRunner:
    """A runner type that records the config it was built from."""

    def __init__(self, cfg):
        self.cfg = cfg

    @classmethod
    def from_cfg(cls, cfg):
        return cls(cfg)


@pytest.fixture
def recording_runner():
    name = 'MmyolomsTestRecordingRunner'
    RUNNERS.register_module(name=name, module=_RecordingRunner, force=True)
    yield name
    RUNNERS._module_dict.pop(name, None)


def test_build_runner_uses_the_configs_runner_type(recording_runner):
    cfg = Config(dict(runner_type=recording_runner, work_dir='w'))
    runner = build_runner(cfg)
    assert isinstance(runner, _RecordingRunner)
    assert runner.cfg.work_dir == 'w'


def test_build_runner_refuses_upper_case_metainfo(recording_runner):
    cfg = Config(
        dict(
            runner_type=recording_runner,
            train_dataloader=dict(
                dataset=dict(metainfo=dict(CLASSES=('a', ))))))
    with pytest.raises(AssertionError, match='lowercase'):
        build_runner(cfg)
