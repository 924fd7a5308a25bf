"""Where the shipped default model lives: ``checkpoints/`` at the repository root.

Located relative to this package (an editable install or a checkout), never by an
absolute path. ``checkpoints/README.md`` gives the commands that produced the files.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["CHECKPOINTS_DIR", "DEFAULT_MODEL", "default_model_files"]

#: ``<repo>/checkpoints`` (this file is ``<repo>/mmselfsup_ext/apis/defaults.py``).
CHECKPOINTS_DIR = Path(__file__).resolve().parents[2] / "checkpoints"

#: Stem of the shipped default model's config (``.py``) and weights (``.pth``).
DEFAULT_MODEL = "hashclr-overlap_swin_small-cpu_fpn_concrete"


def default_model_files() -> tuple[Path, Path]:
    """Config and checkpoint of the shipped default model.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        ``checkpoints/<DEFAULT_MODEL>.py`` and ``.pth``.

    Raises
    ------
    FileNotFoundError
        If either file is missing (e.g. the package was installed without the
        repository's ``checkpoints/`` folder); one-line message.
    """
    config = CHECKPOINTS_DIR / f"{DEFAULT_MODEL}.py"
    checkpoint = CHECKPOINTS_DIR / f"{DEFAULT_MODEL}.pth"
    missing = [str(p) for p in (config, checkpoint) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"the shipped default model is missing ({', '.join(missing)}); pass a CONFIG and "
            "a --checkpoint, or see checkpoints/README.md to re-create it")
    return config, checkpoint
