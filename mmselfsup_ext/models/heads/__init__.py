from .contrastive_head import ContrastiveHead, nt_xent
from .hashclr_head import HashCLRHead
from .simmim_head import SimMIMHead
from .spatial_hash_head import SpatialHashHead, decorrelation_loss, dense_info_nce

__all__ = ["ContrastiveHead", "HashCLRHead", "SimMIMHead", "SpatialHashHead", "decorrelation_loss",
           "dense_info_nce", "nt_xent"]
