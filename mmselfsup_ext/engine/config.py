"""Config loading for the command-line tools, with one-line errors for bad input."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmengine.config import Config, DictAction

__all__ = ["ConfigError", "load_config", "parse_cfg_options"]


class ConfigError(ValueError):
    """A config file or ``--cfg-options`` entry that cannot be used; one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def parse_cfg_options(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings the way mmengine's ``--cfg-options`` does.

    Values become int, float, bool, None, or lists/tuples for ``[a,b]``, ``(a,b)`` and
    ``a,b``; anything else stays a string.

    Parameters
    ----------
    items : sequence of str
        E.g. ``["train_dataloader.dataset.data_root=photos", "train_cfg.max_epochs=2"]``.

    Returns
    -------
    dict
        Dotted key -> parsed value.

    Raises
    ------
    ConfigError
        For an item without ``=`` or with unbalanced brackets.

    Examples
    --------
    >>> parse_cfg_options(["a.b=1", "c=[1,2]", "d=x"])
    {'a.b': 1, 'c': [1, 2], 'd': 'x'}
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--cfg-options expects KEY=VALUE items, got {item!r}")
        try:
            options[key.strip()] = DictAction._parse_iterable(value)
        except AssertionError:
            raise ConfigError(f"--cfg-options {item!r}: unbalanced brackets in the value") from None
    return options


def _check_parents(cfg: Config, key: str) -> None:
    """Raise unless every parent of the dotted ``key`` exists in ``cfg``.

    The leaf may be new (e.g. ``train_cfg.max_iters``), but a typo in a parent would
    otherwise silently create a new, unused branch of the config.
    """
    node: Any = cfg.to_dict()
    parts = key.split(".")
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list) and part.isdigit():
            if int(part) >= len(node):
                raise ConfigError(f"--cfg-options {key}: {where!r} is past the end of a list of {len(node)}")
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise ConfigError(f"--cfg-options {key}: the config has no {where!r}")
        if not isinstance(node, (Mapping, list)):
            raise ConfigError(f"--cfg-options {key}: {where!r} is a {type(node).__name__}, not a dict or list")


def load_config(path: str | os.PathLike, cfg_options: Mapping[str, Any] | None = None) -> Config:
    """Read an mmengine config file and apply ``--cfg-options`` overrides.

    Parameters
    ----------
    path : str or os.PathLike
        Python config file (``_base_`` inheritance allowed).
    cfg_options : Mapping, optional
        Dotted key -> value, e.g. from :func:`parse_cfg_options`.

    Returns
    -------
    mmengine.config.Config

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, or an override does not fit the config.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    try:
        cfg = Config.fromfile(str(path))
    except Exception as exc:  # a config is user code: any failure is a bad config
        raise ConfigError(f"cannot read config {str(path)!r}: {type(exc).__name__}: {exc}") from None
    if cfg_options:
        for key in cfg_options:
            _check_parents(cfg, key)
        try:
            cfg.merge_from_dict(dict(cfg_options))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"--cfg-options do not fit the config: {exc}") from None
    return cfg
