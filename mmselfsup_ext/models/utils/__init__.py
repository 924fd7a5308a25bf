from .code_layout import code_layout

__all__ = ["code_layout"]
