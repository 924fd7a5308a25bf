"""Models: importing this package registers every backbone, neck, head and algorithm."""
from .algorithms import (BaseSelfSupervisor, SimCLR, SwinFpnHashCLR, SwinFpnMIM, SwinFpnSpatialHash,
                         load_backbone_weights)
from .backbones import SWIN_FPN_ARCHS, SwinFpn
from .data_preprocessor import SelfSupDataPreprocessor
from .heads import ContrastiveHead, HashCLRHead, SimMIMHead, SpatialHashHead, nt_xent
from .necks import ConvProjectionNeck, NonLinearNeck, SimMIMLinearDecoder
from .per_image_preprocessor import PerImageDataPreprocessor
from .utils import code_layout

__all__ = [
    "BaseSelfSupervisor",
    "ContrastiveHead",
    "ConvProjectionNeck",
    "HashCLRHead",
    "NonLinearNeck",
    "PerImageDataPreprocessor",
    "SWIN_FPN_ARCHS",
    "SelfSupDataPreprocessor",
    "SimCLR",
    "SimMIMHead",
    "SimMIMLinearDecoder",
    "SwinFpn",
    "SwinFpnHashCLR",
    "SwinFpnMIM",
    "SwinFpnSpatialHash",
    "SpatialHashHead",
    "code_layout",
    "load_backbone_weights",
    "nt_xent",
]
