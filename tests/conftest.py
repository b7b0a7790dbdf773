import os
import os.path as osp

import pytest
import torch

# Small thread pools so that the suite and the training subprocesses it
# starts do not oversubscribe a 2-core machine.
torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Facts of the official release (parameter names and shapes, resolved
# recipes), copied from the project's shared reference data so that a clone
# tests without it.
DATA_DIR = osp.join(REPO_ROOT, 'tests', 'data')
MANIFEST = osp.join(DATA_DIR, 'yoloms_state_dict_manifest.json')
FAMILY_MANIFEST = osp.join(DATA_DIR, 'yolo_ms_family_manifest.json')
OFFICIAL_RECIPES = osp.join(DATA_DIR, 'official_recipes.json')


def load_script(path: str):
    """A script of the repository (``tools/x.py``) loaded as a module, so
    that a test calls its ``main``/``parse_args`` in-process."""
    import importlib.util
    name = osp.splitext(osp.basename(path))[0] + '_script'
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _mmyolo_scope():
    """Every test runs seeded, with mmyolo as the default registry scope."""
    from mmengine.registry import DefaultScope
    from mmyolo.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import mmyoloms  # noqa: F401  registers our modules
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmyolo'):
        yield
