from .ms_block import MSBlock, MSBlockLayer
from .se_attention import SEAttention

__all__ = ['MSBlock', 'MSBlockLayer', 'SEAttention']
