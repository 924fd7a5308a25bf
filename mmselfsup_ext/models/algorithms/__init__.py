from .base import BaseSelfSupervisor, load_backbone_weights
from .simclr import SimCLR
from .swin_fpn_hashclr import SwinFpnHashCLR
from .swin_fpn_mim import SwinFpnMIM
from .swin_fpn_spatial_hash import SwinFpnSpatialHash

__all__ = ["BaseSelfSupervisor", "SimCLR", "SwinFpnHashCLR", "SwinFpnMIM", "SwinFpnSpatialHash",
           "load_backbone_weights"]
