"""Per-image standardisation: codes that ignore exposure, by construction."""
import torch

from mmselfsup_ext.registry import MODELS

from .data_preprocessor import SelfSupDataPreprocessor


@MODELS.register_module()
class PerImageDataPreprocessor(SelfSupDataPreprocessor):
    """Like :class:`SelfSupDataPreprocessor`, but each image is standardised by its own statistics.

    Every image (all channels together) is shifted to zero mean and scaled to unit
    standard deviation, so a global exposure gain or contrast change (an affine change of
    the intensities, up to clipping) leaves the network input, hence the code, unchanged.
    Re-shot inspection photos differ in exactly that way; a fixed ImageNet normalisation
    would make the model learn the invariance instead, which a short training run does not.
    Relative colour is kept (one statistic for the three channels).

    Parameters
    ----------
    eps : float
        Added to the standard deviation (0-255 scale), so a flat image maps to zeros
        instead of amplified noise.
    bgr_to_rgb : bool
        Reverse the channel order first (inputs here are RGB already).
    non_blocking : bool
        Non-blocking host-to-device copies.
    """

    def __init__(self, eps: float = 1.0, bgr_to_rgb: bool = False, non_blocking: bool = False) -> None:
        super().__init__(bgr_to_rgb=bgr_to_rgb, non_blocking=non_blocking)
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.eps = float(eps)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) 0-255 images -> float32, each image zero-mean and unit-std."""
        images = images.float()
        if self.bgr_to_rgb:
            images = images.flip(1)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        std = images.std(dim=(1, 2, 3), keepdim=True)
        return (images - mean) / (std + self.eps)

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Not available: the per-image statistics are not kept."""
        raise ValueError("PerImageDataPreprocessor cannot invert its normalisation (per-image statistics)")
