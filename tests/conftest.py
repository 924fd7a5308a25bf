"""Shared fixtures: small real-texture images and a folder-content digest.

Images come from the LEFT half of the shared real photo (``shared_photo()``; the
right half, x >= 1296 px, is reserved for evaluation), decoded at 1/4 scale, so every
fixture stays tiny and fast. Add new generic fixtures here; test-specific ones
belong in the test file.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Manifest-signing keys (dedup/manifest.py) go to a folder of this test session, never
# to the user's ~/.config; subprocesses inherit it.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mmselfsup-test-config-")

from mmselfsup_ext.evaluation import shared_photo

# Width of the original photo's half that training/test fixtures may use.
CONCRETE_LEFT_WIDTH = 1296


@pytest.fixture(autouse=True)
def fresh_mmengine_instances() -> Iterator[None]:
    """Forget mmengine's named logger, message hub and visualizer around every test.

    mmengine's Runner names them after the config and the start time, to the second,
    and returns an existing instance of that name: a Runner built in the same second
    as an earlier test's one (same config) would log and write ``vis_data`` into the
    earlier test's work dir, share its message hub, and write to its captured (by then
    closed) stderr. Whether two runs share a second is the machine's timing, so no test
    may depend on it. Tests that never imported mmengine are left alone (and fast).
    """
    def forget() -> None:
        if "mmengine" not in sys.modules:
            return
        from mmengine.logging import MessageHub, MMLogger
        from mmengine.visualization import Visualizer

        for manager in (MMLogger, MessageHub, Visualizer):
            manager._instance_dict.clear()

    forget()
    yield
    forget()


@pytest.fixture(scope="session")
def real_photo() -> Path:
    """Path of the shared real concrete photo; tests needing it skip where it is absent."""
    path = shared_photo()
    if path is None:
        pytest.skip("the shared real photo (../shared/data/concrete_h0_l2.jpg) is not present")
    return path


@pytest.fixture(scope="session")
def concrete_left() -> Image.Image:
    """RGB left half of the real concrete photo at 1/4 scale (324 x 512 px).

    Falls back to a seeded procedural texture when the shared photo is absent
    (e.g. a fresh clone without ../shared), so tests still run.
    """
    photo = shared_photo()
    if photo is not None:
        with Image.open(photo) as img:
            img.draft("RGB", (img.width // 4, img.height // 4))
            img = img.convert("RGB")
            scale = img.width / 2592
            return img.crop((0, 0, int(CONCRETE_LEFT_WIDTH * scale), img.height))
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 40, size=(64, 41, 3))
    small = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    return small.resize((324, 512), Image.Resampling.BICUBIC)


@pytest.fixture(scope="session")
def distinct_crops(concrete_left: Image.Image) -> list[Image.Image]:
    """40 non-overlapping 64 x 64 RGB crops in row-major order.

    Their classical hashes are far apart (nearest-neighbour distance >= 12 of 64
    bits for aHash/dHash/pHash/wHash, measured), so exact copies of them are the
    only near-duplicates in a folder built from them.
    """
    w, h = concrete_left.size
    return [concrete_left.crop((x, y, x + 64, y + 64))
            for y in range(0, h - 63, 64) for x in range(0, w - 63, 64)]


@pytest.fixture
def write_images() -> Callable[[Path, Mapping[str, Image.Image]], list[Path]]:
    """Factory: save ``{relative name: image}`` under a folder (format from suffix)."""

    def write(folder: Path, images: Mapping[str, Image.Image]) -> list[Path]:
        paths = []
        for name, img in images.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            options = {"quality": 92} if path.suffix.lower() in (".jpg", ".jpeg") else {}
            img.save(path, **options)
            paths.append(path)
        return paths

    return write


def _digest(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


@pytest.fixture
def tree_digest() -> Callable[[Path], dict[str, str]]:
    """Function mapping a folder to ``{relative path: sha256 | 'dir' | 'link:...'}``.

    Symbolic links are recorded, not followed, so a link loop is safe; equal
    digests before and after mean the folder is byte-identical.
    """
    return _digest
