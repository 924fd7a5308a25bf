from .conv_projection_neck import ConvProjectionNeck
from .nonlinear_neck import NonLinearNeck
from .simmim_linear_decoder import SimMIMLinearDecoder

__all__ = ["ConvProjectionNeck", "NonLinearNeck", "SimMIMLinearDecoder"]
