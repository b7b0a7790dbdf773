from .ms_block import MSBlock, MSBlockLayer
from .psconv import PSConv2d
from .res2_block import Res2Block
from .se_attention import SEAttention

__all__ = ['MSBlock', 'MSBlockLayer', 'SEAttention', 'PSConv2d', 'Res2Block']
