"""Where the shipped default model lives: :mod:`mmselfsup_ext.model_zoo` (package data).

The config and the weights ship inside the package, so an installed command finds
them from any directory. ``model_zoo/README.md`` gives the commands that produced
the files.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["MODEL_ZOO_DIR", "DEFAULT_MODEL", "default_model_files"]

#: ``mmselfsup_ext/model_zoo`` (this file is ``mmselfsup_ext/apis/defaults.py``).
MODEL_ZOO_DIR = Path(__file__).resolve().parents[1] / "model_zoo"

#: Stem of the shipped default model's config (``.py``) and weights (``.pth``).
DEFAULT_MODEL = "hashclr-overlap_swin_small-cpu_fpn_concrete"


def default_model_files() -> tuple[Path, Path]:
    """Config and checkpoint of the shipped default model.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        ``model_zoo/<DEFAULT_MODEL>.py`` and ``.pth``.

    Raises
    ------
    FileNotFoundError
        If either file is missing (e.g. a build that left out the package data);
        one-line message.
    """
    config = MODEL_ZOO_DIR / f"{DEFAULT_MODEL}.py"
    checkpoint = MODEL_ZOO_DIR / f"{DEFAULT_MODEL}.pth"
    missing = [str(p) for p in (config, checkpoint) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"the shipped default model is missing ({', '.join(missing)}); pass a CONFIG and "
            "a --checkpoint, or see mmselfsup_ext/model_zoo/README.md to re-create it")
    return config, checkpoint
