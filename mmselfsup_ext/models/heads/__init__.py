from .contrastive_head import ContrastiveHead, nt_xent
from .hashclr_head import HashCLRHead
from .simmim_head import SimMIMHead

__all__ = ["ContrastiveHead", "HashCLRHead", "SimMIMHead", "nt_xent"]
