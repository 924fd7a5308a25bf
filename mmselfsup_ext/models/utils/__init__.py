from .code_layout import code_layout
from .correspondence import cell_centres, map_between_views

__all__ = ["cell_centres", "code_layout", "map_between_views"]
