"""Training-engine extensions: hooks, config loading and runner set-up for the tools."""
from . import hooks
from .config import ConfigError, load_config, parse_cfg_options
from .training import LAUNCHERS, build_runner, prepare_training_config

__all__ = [
    "ConfigError",
    "LAUNCHERS",
    "build_runner",
    "hooks",
    "load_config",
    "parse_cfg_options",
    "prepare_training_config",
]
