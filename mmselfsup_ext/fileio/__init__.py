"""Image files below everything else: discovery in capture order and robust decoding.

Training (``datasets/``), inference (``apis/``) and deduplication (``dedup/``) read
images through this package, so none of them imports another to open a file.
Torch-free.
"""
from .discover import IMAGE_EXTENSIONS, discover_images, natural_key, relative_posix
from .loading import UnreadableImageError, image_header_size, load_image, to_rgb
from .paths import is_within

__all__ = ["IMAGE_EXTENSIONS", "UnreadableImageError", "discover_images", "image_header_size",
           "is_within", "load_image", "natural_key", "relative_posix", "to_rgb"]
