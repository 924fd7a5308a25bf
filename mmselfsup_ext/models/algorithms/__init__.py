from .base import BaseSelfSupervisor
from .simclr import SimCLR, load_backbone_weights
from .swin_fpn_hashclr import SwinFpnHashCLR
from .swin_fpn_mim import SwinFpnMIM

__all__ = ["BaseSelfSupervisor", "SimCLR", "SwinFpnHashCLR", "SwinFpnMIM", "load_backbone_weights"]
