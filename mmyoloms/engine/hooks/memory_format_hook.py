"""Put a model into the channels-last memory format before it runs."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmyolo.registry import HOOKS

MEMORY_FORMATS = dict(
    channels_last=torch.channels_last, contiguous=torch.contiguous_format)


@HOOKS.register_module()
class MemoryFormatHook(Hook):
    """Store the model's 4-D parameters and buffers in ``memory_format``.

    On CPU, oneDNN runs convolutions -- above all the backward of depthwise
    convolutions -- faster on NHWC (``channels_last``) tensors than on
    NCHW ones; a convolution whose weight is channels-last gives a
    channels-last output, so after the first layer every activation of a
    convolutional network follows. Only the storage order changes: values,
    names and shapes of the state dict stay the same, and checkpoints load
    into a model of either format.

    The hook acts in ``before_run`` (training, validation and testing) with
    a priority above ``EMAHook``'s, so that the EMA copy, built in its own
    ``before_run``, inherits the format, and before a checkpoint is loaded
    (loading copies values into the existing tensors, keeping their
    format).

    Args:
        memory_format (str): ``'channels_last'`` or ``'contiguous'``.
            Defaults to ``'channels_last'``.
    """

    priority = 'HIGH'

    def __init__(self, memory_format: str = 'channels_last') -> None:
        if memory_format not in MEMORY_FORMATS:
            raise ValueError(f'memory_format must be one of '
                             f'{sorted(MEMORY_FORMATS)}, got '
                             f'{memory_format!r}')
        self.memory_format = MEMORY_FORMATS[memory_format]

    def before_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=self.memory_format)
