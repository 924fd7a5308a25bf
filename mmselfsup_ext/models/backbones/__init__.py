from .swin_fpn import SWIN_FPN_ARCHS, SwinFpn

__all__ = ["SWIN_FPN_ARCHS", "SwinFpn"]
