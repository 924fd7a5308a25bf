"""ImageFolderDataset: recursive discovery, unreadable images skipped with a warning."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from mmselfsup_ext.datasets import EmptyDatasetError, ImageFolderDataset
from mmselfsup_ext.datasets.transforms import LoadImage, UnreadableImageWarning
from mmselfsup_ext.utils import register_all_modules

register_all_modules()


@pytest.fixture
def nested_folder(tmp_path, distinct_crops, write_images) -> Path:
    root = tmp_path / "photos"
    write_images(root, {
        "pier_a/strip_1/img2.jpg": distinct_crops[0],
        "pier_a/strip_1/img10.jpg": distinct_crops[1],
        "pier_a/img1.png": distinct_crops[2],
        "wall/deep/deeper/x.JPG": distinct_crops[3],
        "top.tif": distinct_crops[4],
    })
    (root / "notes.txt").write_text("not an image")
    (root / "wall" / "empty").mkdir()
    return root


def _brute_force_images(root: Path, extensions=(".jpg", ".png", ".tif")) -> set[str]:
    found = set()
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if os.path.splitext(name)[1].lower() in extensions:
                found.add(str(Path(dirpath) / name))
    return found


def test_finds_every_nested_image_in_natural_order(nested_folder):
    ds = ImageFolderDataset(str(nested_folder), pipeline=[], extensions=(".jpg", ".png", ".tif"))
    paths = [ds.get_data_info(i)["img_path"] for i in range(len(ds))]
    assert set(paths) == _brute_force_images(nested_folder)
    strip = [p for p in paths if "strip_1" in p]
    assert [Path(p).name for p in strip] == ["img2.jpg", "img10.jpg"]  # natural, not lexical


def test_extensions_filter(nested_folder):
    ds = ImageFolderDataset(str(nested_folder), extensions=(".png",))
    assert [Path(ds.get_data_info(i)["img_path"]).name for i in range(len(ds))] == ["img1.png"]


def test_loaded_sample_is_rgb_uint8_tensor_of_the_file(nested_folder, distinct_crops):
    ds = ImageFolderDataset(str(nested_folder), pipeline=[dict(type="LoadImage")], extensions=(".png",))
    img = ds[0]["img"]
    expected = torch.from_numpy(np.array(distinct_crops[2])).permute(2, 0, 1)
    assert img.dtype == torch.uint8 and img.shape == (3, 64, 64)
    assert torch.equal(img, expected)  # PNG is lossless


def test_corrupt_image_is_skipped_with_one_warning(nested_folder):
    broken = nested_folder / "pier_a" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage, not a JPEG")
    ds = ImageFolderDataset(str(nested_folder), pipeline=[dict(type="LoadImage")], extensions=(".jpg",))
    paths = [ds.get_data_info(i)["img_path"] for i in range(len(ds))]
    bad = paths.index(str(broken))
    with pytest.warns(UnreadableImageWarning, match="broken.jpg") as record:
        sample = ds[bad]
    assert sample["img_path"] != str(broken)  # another image was drawn instead
    assert sample["img"].shape[0] == 3
    assert len([w for w in record if issubclass(w.category, UnreadableImageWarning)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadableImageWarning)
        ds[bad]  # the same file does not warn twice


def test_load_image_returns_none_for_unreadable(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.warns(UnreadableImageWarning, match="empty"):
        assert LoadImage()(dict(img_path=str(empty))) is None


def test_empty_or_missing_root_is_a_clear_error(tmp_path):
    (tmp_path / "only_text").mkdir()
    (tmp_path / "only_text" / "a.txt").write_text("x")
    with pytest.raises(EmptyDatasetError, match="no images"):
        ImageFolderDataset(str(tmp_path / "only_text"))
    with pytest.raises(EmptyDatasetError, match="not a folder"):
        ImageFolderDataset(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="data_root"):
        ImageFolderDataset("")


def test_lazy_init_defers_the_scan(tmp_path, distinct_crops, write_images):
    root = tmp_path / "later"
    ds = ImageFolderDataset(str(root), lazy_init=True)  # folder does not exist yet
    write_images(root, {"a.jpg": distinct_crops[0], "b/c.jpg": distinct_crops[1]})
    ds.full_init()
    assert len(ds) == 2
