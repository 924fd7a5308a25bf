"""The tanh relaxation that hash heads train through: ``b = tanh(gamma * u)``."""
import torch

__all__ = ["TanhRelaxation"]


class TanhRelaxation:
    """Mixin of a hash head: relaxed codes ``tanh(gamma * u)`` and their sharpness ``gamma``.

    ``HashGammaHook`` raises ``gamma`` during training (through the algorithm's
    ``set_gamma``) so the relaxed codes approach the binary ``sign(u)``.
    """

    gamma: float = 1.0

    def set_gamma(self, gamma: float) -> None:
        """Set the relaxation sharpness (a positive number)."""
        if not gamma > 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.gamma = float(gamma)

    def relax(self, u: torch.Tensor) -> torch.Tensor:
        """Continuous codes ``tanh(gamma * u)`` in (-1, 1)."""
        return torch.tanh(self.gamma * u.float())
