"""Training hooks; importing the package registers them in ``HOOKS``."""
from .hash_gamma_hook import HashGammaHook

__all__ = ["HashGammaHook"]
