"""SwinFpnHashCLR: SimCLR with the tanh hash relaxation and quantization loss."""
from mmselfsup_ext.registry import MODELS

from ..heads.relaxation import TanhRelaxation
from .simclr import SimCLR


@MODELS.register_module()
class SwinFpnHashCLR(SimCLR):
    """SimCLR whose head is ``HashCLRHead``; codes are sign(z) in the authors' layout.

    Same constructor as :class:`SimCLR` (``backbone_init`` typically points at the
    SwinFpnMIM checkpoint). ``set_gamma`` is called by ``HashGammaHook`` each epoch.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.head, TanhRelaxation):
            raise ValueError(f"SwinFpnHashCLR needs a head with a gamma (HashCLRHead), got {type(self.head).__name__}")

    def set_gamma(self, gamma: float) -> None:
        """Set the relaxation sharpness of ``b = tanh(gamma * z)`` (gamma > 0)."""
        self.head.set_gamma(gamma)

    @property
    def gamma(self) -> float:
        """Current relaxation sharpness."""
        return self.head.gamma
