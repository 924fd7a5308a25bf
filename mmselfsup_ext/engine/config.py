"""Config loading for the command-line tools, with one-line errors for bad input."""
from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmengine.config import Config, DictAction

__all__ = ["INFERENCE_KEYS", "ConfigError", "config_from_literal_text", "inference_config", "load_config",
           "parse_cfg_options"]

#: The entries of a config that inference reads (:func:`mmselfsup_ext.apis.init_model`,
#: the encoders): the model, the size to encode at and a spatial model's vote rule.
INFERENCE_KEYS = ("model", "inference_img_size", "spatial_vote_rule")


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


def _literal(node: ast.expr) -> Any:
    """The value of a data-only expression: constants, containers and ``dict(key=...)``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
            and not node.args and all(item.arg is not None for item in node.keywords)):
        return {item.arg: _literal(item.value) for item in node.keywords}
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"line {node.lineno}: {ast.unparse(node)[:60]!r} is not plain data")


def config_from_literal_text(text: str, source: str = "<text>") -> Config:
    """Read a config written as plain data, without executing any of it.

    mmengine embeds a checkpoint's training config as the text of a Python file. A
    checkpoint is data that anyone may have edited, so this accepts only what mmengine
    writes there: ``name = value`` lines whose values are constants, lists, tuples,
    ``{...}`` and ``dict(key=value, ...)``. A call, import, name or operator anywhere is
    refused instead of run.

    Parameters
    ----------
    text : str
        The config text, e.g. a checkpoint's ``meta['cfg']``.
    source : str
        What to call the text in error messages.

    Returns
    -------
    mmengine.config.Config

    Raises
    ------
    ConfigError
        If the text is not valid Python or holds anything but plain data.

    Examples
    --------
    >>> config_from_literal_text("model = dict(type='X', depth=-1)").model.depth
    -1
    """
    try:
        tree = ast.parse(text)
        values: dict[str, Any] = {}
        for statement in tree.body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)):
                raise ValueError(f"line {statement.lineno}: only 'name = value' lines are read")
            values[statement.targets[0].id] = _literal(statement.value)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ConfigError(f"{source} is not a plain-data config, so it is not run "
                          f"({exc or type(exc).__name__}); "
                          "pass its CONFIG file instead") from None
    return Config(values)


def inference_config(cfg: Config) -> Config:
    """The part of a training config that inference reads, with current arch names.

    What a shipped model's ``.py`` holds (``tools/publish_model.py``): the training
    config stays embedded in full in its checkpoint.

    Parameters
    ----------
    cfg : mmengine.config.Config
        A training config (or the config embedded in a checkpoint).

    Returns
    -------
    mmengine.config.Config
        The :data:`INFERENCE_KEYS` entries ``cfg`` has, less the model's
        ``backbone_init`` (a training-time file inference never reads); a SwinFpn arch
        under a former name (``LEGACY_ARCH_NAMES``) is written under its current one.
    """
    from mmselfsup_ext.models.backbones.swin_fpn import LEGACY_ARCH_NAMES

    entries = {key: cfg[key] for key in INFERENCE_KEYS if key in cfg}
    model = entries.get("model", {})
    model.pop("backbone_init", None)
    backbone = model.get("backbone", {})
    if isinstance(backbone.get("arch"), str):
        backbone["arch"] = LEGACY_ARCH_NAMES.get(backbone["arch"], backbone["arch"])
    return Config(entries)
