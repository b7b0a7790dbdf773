from .ms_block import MSBlock, MSBlockLayer
from .psconv import PSConv2d
from .se_attention import SEAttention

__all__ = ['MSBlock', 'MSBlockLayer', 'SEAttention', 'PSConv2d']
