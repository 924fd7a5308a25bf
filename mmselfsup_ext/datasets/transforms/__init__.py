"""Pipeline steps; importing the package registers them in ``TRANSFORMS``."""
from .base import BaseTransform
from .formatting import PackSelfSupInputs
from .loading import LoadImage, UnreadableImageWarning
from .mask_generator import SimMIMMaskGenerator
from .overlap_views import OverlapViews
from .processing import ColorJitter, RandomFlip, RandomGaussianBlur, RandomResizedCrop, Resize
from .wrappers import MultiView

__all__ = [
    "BaseTransform",
    "ColorJitter",
    "LoadImage",
    "MultiView",
    "OverlapViews",
    "PackSelfSupInputs",
    "RandomFlip",
    "RandomGaussianBlur",
    "RandomResizedCrop",
    "Resize",
    "SimMIMMaskGenerator",
    "UnreadableImageWarning",
]
