"""Helpers of the config tests."""
from types import SimpleNamespace


def effective_lr(cfg, world_size):
    """The learning rate the runner trains ``cfg`` at with ``world_size``
    processes: mmengine's own ``Runner.scale_lr`` applied to the config's
    optimizer lr, dataloader batch and ``auto_scale_lr``."""
    import torch
    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner
    optimizer = torch.optim.SGD(
        torch.nn.Linear(1, 1).parameters(),
        lr=cfg.optim_wrapper.optimizer.lr)
    runner = SimpleNamespace(
        _train_dataloader=cfg.train_dataloader,
        world_size=world_size,
        param_schedulers=None,
        logger=MMLogger.get_instance('effective_lr'))
    Runner.scale_lr(runner, OptimWrapper(optimizer), cfg.get('auto_scale_lr'))
    return optimizer.param_groups[0]['lr']
