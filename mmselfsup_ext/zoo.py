"""Where the shipped models live: :mod:`mmselfsup_ext.model_zoo` (package data).

The configs and weights ship inside the package, so an installed command finds them from
any directory; this module imports no torch, so command-line parsers can name them.
``model_zoo/README.md`` gives the commands that produced the files. Two models ship: ``spatialhash`` (the default: one 64-bit code per cell of an 8 x 8 grid,
compared by cell agreement) and ``hashclr`` (the paper's global 32/64/96/128-bit codes).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["MODEL_ZOO_DIR", "DEFAULT_MODEL", "ZOO_MODELS", "default_model_files"]

#: ``mmselfsup_ext/model_zoo`` (this file is ``mmselfsup_ext/zoo.py``).
MODEL_ZOO_DIR = Path(__file__).resolve().parent / "model_zoo"

#: Shipped models by name: the stem of their config (``.py``) and weights (``.pth``).
ZOO_MODELS = {
    "spatialhash": "spatialhash_swin_nano_fpn_concrete",
    "hashclr": "hashclr-overlap_swin_nano_fpn_concrete",
}

#: The model loaded when none is named (benchmarks/README_learned.md: it wins every
#: hash-only comparison there).
DEFAULT_MODEL = "spatialhash"


def default_model_files(name: str = DEFAULT_MODEL) -> tuple[Path, Path]:
    """Config and checkpoint of a shipped model.

    Parameters
    ----------
    name : {"spatialhash", "hashclr"}
        Which shipped model (default :data:`DEFAULT_MODEL`).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        ``model_zoo/<stem>.py`` and ``.pth``.

    Raises
    ------
    ValueError
        For an unknown name.
    FileNotFoundError
        If either file is missing (e.g. a build that left out the package data);
        one-line message.
    """
    if name not in ZOO_MODELS:
        raise ValueError(f"unknown shipped model {name!r}; choose from {', '.join(ZOO_MODELS)}")
    config = MODEL_ZOO_DIR / f"{ZOO_MODELS[name]}.py"
    checkpoint = MODEL_ZOO_DIR / f"{ZOO_MODELS[name]}.pth"
    missing = [str(p) for p in (config, checkpoint) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"the shipped model {name!r} is missing ({', '.join(missing)}); pass a CONFIG and "
            "a --checkpoint, or see mmselfsup_ext/model_zoo/README.md to re-create it")
    return config, checkpoint
