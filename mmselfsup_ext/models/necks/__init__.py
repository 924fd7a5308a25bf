from .nonlinear_neck import NonLinearNeck
from .simmim_linear_decoder import SimMIMLinearDecoder

__all__ = ["NonLinearNeck", "SimMIMLinearDecoder"]
