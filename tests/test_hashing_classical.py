"""Classical hashes agree bit for bit with ImageHash and behave as documented."""

import imagehash
import numpy as np
import pytest
from PIL import Image

from mmselfsup_ext.evaluation import shared_photo
from mmselfsup_ext.hashing import (
    CLASSICAL_METHODS,
    classical_hash,
    classical_tag,
    codes_to_hex,
    hex_to_codes,
    min_decode_size,
    pair_distances,
)



def _images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:400]
    gradient = ((xx + 2 * yy) % 256).astype(np.uint8)
    noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    blobs = (128 + 100 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.uint8)
    images = [
        Image.fromarray(gradient, "L"),
        Image.fromarray(noise, "RGB"),
        Image.fromarray(blobs, "L").convert("RGBA"),
    ]
    if shared_photo() is not None:  # left half only: the right half is reserved for evaluation
        with Image.open(shared_photo()) as photo:
            images.append(photo.crop((0, 0, 1296, 1024)).reduce(4))
    return images


def _imagehash(image, method, hash_size):
    """ImageHash called directly, with the documented parameters of classical_hash."""
    if method == "ahash":
        return imagehash.average_hash(image, hash_size=hash_size)
    if method == "dhash":
        return imagehash.dhash(image, hash_size=hash_size)
    if method == "phash":
        return imagehash.phash(image, hash_size=hash_size, highfreq_factor=4)
    return imagehash.whash(image, hash_size=hash_size, image_scale=max(256, hash_size))


@pytest.mark.parametrize("hash_size", [8, 16])
@pytest.mark.parametrize("method", CLASSICAL_METHODS)
def test_bits_match_imagehash(method, hash_size):
    for image in _images():
        code = classical_hash(image, method, hash_size)
        expected = _imagehash(image, method, hash_size)
        assert code.dtype == np.uint8 and code.shape == (hash_size**2 // 8,)
        np.testing.assert_array_equal(
            np.unpackbits(code).astype(bool), expected.hash.reshape(-1)
        )
        # ImageHash's own hex form reads the bits in the same order
        assert codes_to_hex(code[None])[0] == str(expected)


@pytest.mark.parametrize("method", CLASSICAL_METHODS)
def test_hex_round_trip_through_imagehash(method):
    image = _images()[1]
    code = classical_hash(image, method, 8)
    hex_code = codes_to_hex(code[None])[0]
    np.testing.assert_array_equal(hex_to_codes([hex_code])[0], code)
    assert imagehash.hex_to_hash(hex_code) == _imagehash(image, method, 8)


@pytest.mark.parametrize("method", CLASSICAL_METHODS)
def test_identical_images_have_distance_zero(method, tmp_path):
    image = _images()[2].convert("RGB")
    image.save(tmp_path / "copy.png")  # lossless copy through a file
    with Image.open(tmp_path / "copy.png") as reloaded:
        codes = np.stack([classical_hash(image, method), classical_hash(reloaded, method)])
    assert pair_distances(codes, [0], [1])[0] == 0


def test_different_images_differ():
    gradient, noise = _images()[:2]
    for method in CLASSICAL_METHODS:
        codes = np.stack([classical_hash(gradient, method), classical_hash(noise, method)])
        assert pair_distances(codes, [0], [1])[0] > 0


def test_tags_and_decode_sizes():
    assert [classical_tag(m, 8) for m in CLASSICAL_METHODS] == [
        "ahash64", "dhash64", "phash64", "whash64",
    ]
    assert classical_tag("phash", 16) == "phash256"
    # the working resolution each method resizes to before hashing
    assert [min_decode_size(m, 8) for m in CLASSICAL_METHODS] == [8, 9, 32, 256]
    assert [min_decode_size(m, 16) for m in CLASSICAL_METHODS] == [16, 17, 64, 256]


def test_whash_does_not_depend_on_decoded_resolution():
    # with a fixed working scale, a 2x larger decode of the same picture hashes alike
    small = _images()[2]
    large = small.resize((small.width * 2, small.height * 2), Image.Resampling.LANCZOS)
    codes = np.stack([classical_hash(small, "whash"), classical_hash(large, "whash")])
    assert pair_distances(codes, [0], [1])[0] <= 2


@pytest.mark.parametrize(
    "method, hash_size, match",
    [
        ("md5", 8, "method"),
        ("ahash", 1, "hash_size"),
        ("ahash", 8.0, "integer"),
        ("ahash", True, "integer"),
        ("whash", 12, "power-of-two"),
    ],
)
def test_bad_arguments(method, hash_size, match):
    image = _images()[0]
    with pytest.raises(ValueError, match=match):
        classical_hash(image, method, hash_size)
    with pytest.raises(ValueError, match=match):
        min_decode_size(method, hash_size)
