"""Robust loading and discovery: every bad input is a one-line reason, never a crash."""
from __future__ import annotations

import builtins
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.fileio import loading
from mmselfsup_ext.fileio.discover import discover_images, natural_key
from mmselfsup_ext.fileio.loading import UnreadableImageError, load_image
from mmselfsup_ext.hashing import classical_hash


def _reason(path, **kwargs) -> str:
    with pytest.raises(UnreadableImageError) as info:
        load_image(path, **kwargs)
    reason = str(info.value)
    assert reason and "\n" not in reason
    return reason


def test_jpeg_draft_keeps_at_least_min_size(concrete_left, tmp_path):
    path = tmp_path / "big.jpg"
    concrete_left.save(path, quality=95)  # 324 x 512
    full = load_image(path)
    assert full.size == (324, 512) and full.mode == "RGB"
    reduced = load_image(path, min_size=70)
    # libjpeg scales by 1/1, 1/2, 1/4 or 1/8 (rounding up); 1/4 is the coarsest
    # scale whose short side (81) still reaches 70.
    assert reduced.size == (81, 128)
    assert min(load_image(path, min_size=81).size) >= 81
    assert load_image(path, min_size=500).size == (324, 512)


def test_png_is_decoded_full_size_regardless_of_min_size(concrete_left, tmp_path):
    path = tmp_path / "a.png"
    concrete_left.save(path)
    np.testing.assert_array_equal(np.asarray(load_image(path, min_size=8)),
                                  np.asarray(concrete_left))


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    expected = np.arange(256, dtype=np.uint16).reshape(16, 16)
    path = tmp_path / "deep.png"
    Image.fromarray(expected * 257).save(path)  # 0..65535
    assert Image.open(path).mode.startswith("I")
    img = load_image(path)
    assert img.mode == "RGB"
    for channel in range(3):
        np.testing.assert_array_equal(np.asarray(img)[..., channel], expected)


def test_cmyk_jpeg_becomes_rgb(concrete_left, tmp_path):
    rgb = concrete_left.crop((0, 0, 96, 96))
    path = tmp_path / "print.jpg"
    rgb.convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    img = load_image(path)
    assert img.mode == "RGB" and img.size == rgb.size
    diff = np.abs(np.asarray(img, float) - np.asarray(rgb, float)).mean()
    assert diff < 8, diff


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 200, 30)
    rgba[:2, :, 3] = 255  # top half opaque, bottom half fully transparent
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = np.asarray(load_image(path))
    assert (out[:2] == (10, 200, 30)).all()
    assert (out[2:] == 255).all()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1", "I", "F"])
def test_other_modes_give_rgb(mode, concrete_left, tmp_path):
    img = concrete_left.crop((0, 0, 32, 32)).convert(mode)
    path = tmp_path / ("x.tif" if mode in ("I", "F") else "x.png")
    img.save(path)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (32, 32)
    if mode in ("L", "I", "F"):
        # Float data is stretched min..max: expect that of the float luminance itself (an
        # 8-bit grey first would carry its rounding, amplified by the stretch).
        grey = np.asarray(concrete_left.crop((0, 0, 32, 32)).convert("F" if mode == "F" else "L"),
                          float)
        got = np.asarray(out, float)[..., 0]
        if mode == "F":
            grey = (grey - grey.min()) * 255 / (grey.max() - grey.min())
        assert np.abs(got - grey).max() <= 1


def test_exif_rotation_is_applied_and_hash_matches_upright(concrete_left, tmp_path):
    upright = concrete_left.crop((0, 0, 96, 64))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a sideways camera saves
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display", undoes ROTATE_90 (CCW)
    path = tmp_path / "rotated.png"
    stored.save(path, exif=exif.tobytes())
    out = load_image(path)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(upright))
    for method in ("ahash", "dhash", "phash", "whash"):
        np.testing.assert_array_equal(classical_hash(out, method),
                                      classical_hash(upright, method))


def test_empty_file(tmp_path):
    (tmp_path / "e.jpg").write_bytes(b"")
    assert "empty" in _reason(tmp_path / "e.jpg")


def test_truncated_jpeg(concrete_left, tmp_path):
    buf = io.BytesIO()
    concrete_left.save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    assert "truncated" in _reason(tmp_path / "t.jpg")
    assert "truncated" in _reason(tmp_path / "t.jpg", min_size=16)


def test_text_renamed_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("inspection notes, not a photo\n")
    assert "not a recognised image" in _reason(tmp_path / "notes.jpg")


def test_corrupt_png(concrete_left, tmp_path):
    buf = io.BytesIO()
    concrete_left.crop((0, 0, 64, 64)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[60:200] = bytes(140)  # zero the compressed stream
    (tmp_path / "c.png").write_bytes(bytes(data))
    _reason(tmp_path / "c.png")


def test_directory_named_like_an_image(tmp_path):
    (tmp_path / "folder.jpg").mkdir()
    assert "directory" in _reason(tmp_path / "folder.jpg")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_rejected_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    assert "not a regular file" in _reason(tmp_path / "pipe.jpg")


def test_permission_denied_emulated(concrete_left, tmp_path, monkeypatch):
    # Root ignores file modes, so the denial is emulated at the open() call the
    # loader makes: exactly the error a non-root user gets on a mode-000 file.
    path = tmp_path / "locked.jpg"
    concrete_left.save(path)

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(loading, "open", denied, raising=False)
    assert _reason(path) == "permission denied"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root bypasses file permissions (see the emulated test)")
def test_permission_denied_real(concrete_left, tmp_path):
    path = tmp_path / "locked.jpg"
    concrete_left.save(path)
    path.chmod(0)
    try:
        assert _reason(path) == "permission denied"
    finally:
        path.chmod(0o644)


def test_decompression_bomb_guard(tmp_path):
    Image.new("RGB", (40, 30)).save(tmp_path / "wide.png")
    assert "too large" in _reason(tmp_path / "wide.png", max_pixels=1000)
    assert load_image(tmp_path / "wide.png", max_pixels=1200).size == (40, 30)


def test_broken_symlink(tmp_path):
    os.symlink(tmp_path / "gone.jpg", tmp_path / "link.jpg")
    assert "broken symbolic link" in _reason(tmp_path / "link.jpg")


def test_min_size_is_validated(tmp_path):
    with pytest.raises(ValueError, match="min_size"):
        load_image(tmp_path / "x.jpg", min_size=0)


def test_natural_key_orders_numbers_by_value():
    names = ["img10.jpg", "img2.jpg", "IMG1.jpg", "b/img1.jpg", "img2a.jpg"]
    assert sorted(names, key=natural_key) == [
        "b/img1.jpg", "IMG1.jpg", "img2.jpg", "img2a.jpg", "img10.jpg"]


def test_discover_recursive_case_insensitive_natural_unicode(tmp_path):
    for rel in ["shot_10.JPG", "shot_2.jpg", "sub/deeper/shot_1.Png", "séquence/ひび割れ.jpeg",
                "notes.txt", "sub/x.tiff", "sub/y.webp", "sub/z.bmp", "sub/w.TIF"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_images(tmp_path)]
    # Text compares by code point after case folding: "sé" sorts after "sh" and "su".
    assert found == ["shot_2.jpg", "shot_10.JPG", "sub/deeper/shot_1.Png", "sub/w.TIF",
                     "sub/x.tiff", "sub/y.webp", "sub/z.bmp", "séquence/ひび割れ.jpeg"]
    assert [p.name for p in discover_images(tmp_path, extensions=["PNG"])] == ["shot_1.Png"]


def test_discover_survives_symlink_loops_and_lists_each_folder_once(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")   # a/loop -> a
    os.symlink(tmp_path, tmp_path / "a" / "up")            # a/up -> root
    found = [p.relative_to(tmp_path).as_posix() for p in discover_images(tmp_path)]
    assert found == ["a/1.jpg"]


def test_discover_rejects_bad_roots(tmp_path):
    (tmp_path / "1.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a directory"):
        discover_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one"):
        discover_images(tmp_path, extensions=[])
