import os
import os.path as osp

import pytest
import torch

# Small thread pools so that the suite and the training subprocesses it
# starts do not oversubscribe a 2-core machine.
torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DIR = osp.join(osp.dirname(REPO_ROOT), 'shared')
MANIFEST = osp.join(SHARED_DIR, 'reference',
                    'yoloms_state_dict_manifest.json')


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
