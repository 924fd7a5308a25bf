from .checkpoint import (
    CheckpointError,
    check_state_dict_fits,
    load_checkpoint_file,
    load_model_weights,
    state_dict_from_checkpoint,
)
from .setup_env import register_all_modules

__all__ = [
    "CheckpointError",
    "check_state_dict_fits",
    "load_checkpoint_file",
    "load_model_weights",
    "register_all_modules",
    "state_dict_from_checkpoint",
]
