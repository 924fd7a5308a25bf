"""Surveys over every real photo in the shared data folder, at chosen footprint scales.

A *footprint scale* is how many surface pixels one shot pixel covers: 1 means the shots
are cut at the photo's native resolution, 2 means each shot is the photo downscaled 2x.
For a scale ``s`` the walls are tiles of the photo's evaluation (right) half sized so
that the coarse preset's footprint is ``s`` shot widths; tiles share no pixel, so walls
of one survey share no surface. A region too small for even one tile at the shot size
gives one wall of the whole region and proportionally smaller shots, so the scale holds.

Only one photo goes into a survey: two frames of one flight strip can show the same
ground (the quay-deck frames overlap), which would make ground truth across walls wrong.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .flight import pass_grid
from .surfaces import Surface, load_photo, shared_data_dir
from .survey import PASS_PRESETS

#: Image file suffixes recognised as photos in the shared data folder.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
#: The wall shape the pass presets are sized for (the first real photo's evaluation half).
_PRESET_WALL = (1296, 2048)


def shared_photos(root: str | Path | None = None) -> list[Path]:
    """Every photo under the shared data folder (recursively), in path order.

    Parameters
    ----------
    root : str or pathlib.Path, optional
        Folder to search; default :func:`~.surfaces.shared_data_dir`.

    Returns
    -------
    list of pathlib.Path
        Empty when there is no such folder (a fresh clone without shared data).
    """
    folder = Path(root) if root is not None else shared_data_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def photo_label(photo: Path, root: str | Path | None = None) -> str:
    """A short, unique name for a shared photo: its path below the data folder, no suffix."""
    folder = Path(root) if root is not None else shared_data_dir()
    try:
        relative = photo.resolve().relative_to(Path(folder).resolve()) if folder else photo
    except ValueError:
        relative = Path(photo.name)
    return relative.with_suffix("").as_posix()


def _coarse_fraction() -> float:
    """Coarse-preset footprint width as a fraction of the preset wall's width."""
    wall = Surface(np.zeros((_PRESET_WALL[1], _PRESET_WALL[0], 3), np.uint8))
    return pass_grid(wall, PASS_PRESETS["coarse"], (320, 256)).width / _PRESET_WALL[0]


def scaled_walls(photo: str | Path, scale: float, *, shot_size: tuple[int, int] = (320, 256),
                 max_walls: int = 3, region: str = "eval"
                 ) -> tuple[list[Surface], tuple[int, int]]:
    """Walls tiled from one photo so the presets' footprints are ``scale`` shots wide.

    Parameters
    ----------
    photo : str or pathlib.Path
        A real photo.
    scale : float
        Surface pixels per shot pixel of the coarse pass (> 0); the dense pass's are
        about 0.8x of it, as in the presets.
    shot_size : (int, int)
        Requested shot width and height; smaller only when the region is too small.
    max_walls : int
        At most this many tiles (>= 1), spread evenly over the region's grid of tiles.
    region : {"eval", "train", "full"}
        Part of the photo the tiles come from (see :func:`~.surfaces.load_photo`).

    Returns
    -------
    walls : list of Surface
        ``info`` adds ``tile`` (x, y, width, height within the region) and ``scale``.
    shot_size : (int, int)
        The shot size that gives ``scale`` on these walls.

    Raises
    ------
    ValueError
        For a non-positive scale or ``max_walls < 1``, or an unreadable photo.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if max_walls < 1:
        raise ValueError(f"max_walls must be >= 1, got {max_walls}")
    surface = load_photo(photo, region=region)
    wall_w = scale * shot_size[0] / _coarse_fraction()
    wall_h = wall_w * _PRESET_WALL[1] / _PRESET_WALL[0]
    shrink = min(1.0, surface.width / wall_w, surface.height / wall_h)
    wall_w, wall_h = int(wall_w * shrink), int(wall_h * shrink)
    shot = (max(16, round(shot_size[0] * shrink)), max(16, round(shot_size[1] * shrink)))
    nx, ny = surface.width // wall_w, surface.height // wall_h
    # Evenly spaced tiles of the row-major grid, so the walls sample the whole region.
    picks = np.unique(np.linspace(0, nx * ny - 1, min(max_walls, nx * ny)).round().astype(int))
    # Centre the grid of tiles in the region.
    x0, y0 = (surface.width - nx * wall_w) // 2, (surface.height - ny * wall_h) // 2
    walls = []
    for k in picks:
        x, y = x0 + (k % nx) * wall_w, y0 + (k // nx) * wall_h
        pixels = surface.pixels[y:y + wall_h, x:x + wall_w].copy()
        walls.append(Surface(pixels, dict(surface.info, width=wall_w, height=wall_h,
                                          tile=[int(x), int(y), wall_w, wall_h],
                                          scale=float(scale))))
    return walls, shot
