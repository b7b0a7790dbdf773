"""The GPU check (tools/gpu_check.py, scripts/gpu_check.sh) without a GPU:
its arguments, its wheelhouse manifest, and a CPU dry run of every step."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from mmyoloms.apis import gpu_check
from mmyoloms.apis.runner import enable_amp
from tests.conftest import REPO_ROOT

MANIFEST = osp.join(REPO_ROOT, 'scripts', 'gpu_wheelhouse.txt')
SCRIPT = osp.join(REPO_ROOT, 'scripts', 'gpu_check.sh')


def _requirements(path):
    """``{name: Requirement}`` of a requirements file; duplicates fail."""
    found = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            req = Requirement(line)
            name = re.sub(r'[-_.]+', '-', req.name).lower()
            assert name not in found, f'{name} twice in {path}'
            found[name] = req
    return found


def _pin(req):
    (spec, ) = req.specifier
    assert spec.operator == '==', f'{req} is not pinned with =='
    return spec.version


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize('argv, message', [
    (['--seeds', '1'], '--seeds must be >= 2'),
    (['--val-iters', '1'], '--val-iters must be >= 2'),
    (['--batch-size', '0'], 'argument --batch-size: must be an integer >= 1'),
    (['--batch-size', 'x'], "must be an integer >= 1, got 'x'"),
    (['--speed-warmup', '0'], 'argument --speed-warmup: must be an integer'),
    (['--workers', '-1'], 'argument --workers: must be an integer >= 0'),
    (['--sweep-minutes', '0'], 'argument --sweep-minutes: must be a number'),
    (['--steps', 'train'], "argument --steps: invalid choice: 'train'"),
    (['--device', 'tpu'], "argument --device: invalid choice: 'tpu'"),
])
def test_bad_arguments_stop_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_defaults_and_dry_run_counts(tmp_path):
    args = gpu_check.parse_args([])
    assert (args.device, args.seeds, args.sweep_minutes, args.steps) == \
        ('cuda', 8, 10., list(gpu_check.STEPS))
    out = str(tmp_path / 'out')
    dry = gpu_check.parse_args(['--dry-run', '--seeds', '8', '--out', out])
    assert (dry.device, dry.seeds, dry.sweep_epochs, dry.batch_size) == \
        ('cpu', 2, 1, 2)
    assert dry.data_root == osp.join(out, 'data')


def test_onnx_step_needs_the_sweep(tmp_path):
    args = gpu_check.parse_args(
        ['--steps', 'env', 'onnx', '--device', 'cpu', '--out',
         str(tmp_path)])
    with pytest.raises(gpu_check.GPUCheckError, match='sweep onnx'):
        gpu_check.run_gpu_check(args)


def test_cuda_device_without_a_gpu_is_a_clear_error(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.fail('this test needs a machine without a GPU')
    with pytest.raises(gpu_check.GPUCheckError, match='sees no GPU'):
        gpu_check.check_environment('cuda', log=lambda msg: None)


def test_the_cpu_mmcv_has_no_cuda_nms():
    # the suite's mmcv is the CPU build of make setup: the check must say so
    info = gpu_check.mmcv_cuda_nms('cpu')
    assert info['compiled_cuda'] == 'not available'
    assert info['registered'] is False
    assert 'implementation for device cuda:0 not found' in info['how']


def test_plan_sweep_epochs():
    # 24 trainings in 600 s: 25 s each; 10 s fixed, 1 s per epoch x 1.1
    plan = gpu_check.plan_sweep_epochs(600, 24, 10., 1.)
    assert plan == dict(epochs=13, per_training_s=25., fits=True)
    plan = gpu_check.plan_sweep_epochs(600, 24, 30., 1.)
    assert plan == dict(epochs=1, per_training_s=25., fits=False)
    with pytest.raises(ValueError, match='epoch_s > 0'):
        gpu_check.plan_sweep_epochs(600, 24, 10., 0.)


def test_enable_amp_copies_and_switches_the_wrapper():
    from mmengine.config import Config
    cfg = Config(dict(optim_wrapper=dict(
        type='CPUAutocastOptimWrapper', native_only=True,
        optimizer=dict(type='AdamW', lr=0.004))))
    amp = enable_amp(cfg)
    assert amp.optim_wrapper == dict(
        type='AmpOptimWrapper', loss_scale='dynamic',
        optimizer=dict(type='AdamW', lr=0.004))
    assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert cfg.optim_wrapper.native_only is True
    with pytest.raises(ValueError, match='no optim_wrapper'):
        enable_amp(Config(dict(model=dict())))


# ----------------------------------------------------------------- manifest
def test_manifest_is_pinned_and_agrees_with_make_setup():
    manifest = _requirements(MANIFEST)
    pins = {name: _pin(req) for name, req in manifest.items()}
    default = _requirements(
        osp.join(REPO_ROOT, 'requirements', 'default.txt'))
    # every package of the default row, at its version, but torch: the
    # CUDA build of 2.14.1 that the CUDA mmcv wheel is compiled against
    for name, req in default.items():
        assert name in pins, f'{name} of requirements/default.txt missing'
        if name != 'torch':
            assert pins[name] == _pin(req), name
    assert pins['torch'] == '2.14.1'
    # what scripts/setup.sh pins itself
    with open(osp.join(REPO_ROOT, 'scripts', 'setup.sh')) as f:
        setup = f.read()
    for name, version in re.findall(r'have (\w+) ([\d.]+)', setup):
        assert pins[name] == version, name
    assert pins['mmcv'] == re.search(r'MMCV_VERSION=([\d.]+)', setup)[1]
    spec = re.search(r"SETUPTOOLS_SPEC='setuptools([^']+)'", setup)[1]
    assert Requirement('setuptools' + spec).specifier.contains(
        pins['setuptools'])
    # what the CUDA torch wheel depends on is there too
    for name in ('cuda-toolkit', 'nvidia-cublas', 'nvidia-cuda-runtime',
                 'nvidia-cudnn-cu13', 'nvidia-nccl-cu13', 'triton'):
        assert name in pins, name


def test_manifest_lists_what_the_environment_of_the_check_holds():
    # the installed stack of this checkout's row satisfies the manifest
    # wherever the two share a CUDA-independent package
    from importlib import metadata
    manifest = _requirements(MANIFEST)
    for name in ('mmengine', 'mmdet', 'mmyolo', 'mmcv', 'numpy', 'onnx',
                 'onnxruntime', 'pycocotools'):
        installed = metadata.version(name).split('+')[0]
        assert installed == _pin(manifest[name]), name


# ------------------------------------------------------------------- script
def _script(env_extra, *args):
    env = dict(os.environ, **env_extra)
    return subprocess.run(['bash', SCRIPT, *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_script_refuses_a_missing_or_incomplete_wheelhouse(tmp_path):
    proc = _script({'WHEELHOUSE': str(tmp_path / 'none')})
    assert proc.returncode == 2
    assert 'is not a folder' in proc.stderr
    proc = _script({'WHEELHOUSE': str(tmp_path)})
    assert proc.returncode == 2
    assert 'no mmcv-2.0.1-*.whl' in proc.stderr
    proc = _script({'VENV': str(tmp_path / 'novenv')})
    assert proc.returncode == 2
    assert 'no venv at' in proc.stderr


def test_script_passes_its_arguments_to_the_tool():
    venv = osp.dirname(osp.dirname(sys.executable))
    proc = _script({'VENV': venv}, '--seeds', '1')
    assert proc.returncode == 2
    assert '--seeds must be >= 2' in proc.stderr


# ------------------------------------------------------------------ dry run
def test_cpu_dry_run_runs_every_step(tmp_path):
    out = str(tmp_path / 'gpu_check')
    proc = subprocess.run(
        [sys.executable, 'tools/gpu_check.py', '--dry-run', '--out', out],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines()
             if line.startswith('[')]
    text = '\n'.join(lines)
    for step in ('[env]', '[speed]', '[val]', '[sweep]', '[onnx]'):
        assert step in text, text
    assert 'CUDA nms NOT registered' in text
    assert re.search(r'XS at [\d.]+x RTMDet-tiny', text)
    # one verdict line for the one compared run (2 seeds each)
    verdicts = [line for line in lines if ' vs yoloms-xs-k3579: AP ' in line]
    assert len(verdicts) == 1 and 'seeds: ' in verdicts[0], text
    assert 'on CPUExecutionProvider: bbox mAP' in text
    with open(osp.join(out, gpu_check.RESULT_FILE)) as f:
        result = json.load(f)
    assert set(gpu_check.STEPS) < set(result)
    assert set(result['seconds']) == set(gpu_check.STEPS) | {'total'}
    assert result['sweep']['seeds'] == [0, 1]
    assert result['onnx']['provider'] == 'CPUExecutionProvider'
    assert osp.isfile(result['onnx']['file'])


def test_onnxruntime_session_refuses_a_provider_it_lacks(tmp_path):
    import onnxruntime as ort

    from mmyoloms.deploy import make_session
    model = tmp_path / 'model.onnx'
    model.write_bytes(b'')  # the providers are checked before it is read
    missing = [p for p in (gpu_check.CUDA_PROVIDER, 'NoSuchProvider')
               if p not in ort.get_available_providers()]
    with pytest.raises(ValueError, match='lacks'):
        make_session(str(model), providers=missing)
    with pytest.raises(ValueError, match='non-empty'):
        make_session(str(model), providers=())
