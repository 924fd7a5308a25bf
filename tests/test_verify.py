"""Tests for geometric verification (mmselfsup_ext.dedup.verify).

Synthetic shots are cut from a real texture with known surface->image homographies;
the true overlap is measured independently by rasterising both footprints on the
surface grid (skimage.draw.polygon) and counting pixels.
"""
from __future__ import annotations


import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.draw import polygon as raster_polygon

from mmselfsup_ext.dedup.verify import (
    FeatureEncoder,
    FeatureStore,
    ImageFeatures,
    extract_features,
    verify_pair,
    verify_pairs,
)
from mmselfsup_ext.dedup.keep import pairwise_keep
from mmselfsup_ext.evaluation import procedural_concrete, shared_photo
from mmselfsup_ext.dedup.verify.matching import ratio_matches

SHOT = 320  # side of a synthetic shot in pixels


@pytest.fixture(scope="module")
def surface() -> np.ndarray:
    """Real concrete texture at half size; a procedural concrete wall where it is absent."""
    photo = shared_photo()
    if photo is not None:
        image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        return cv2.resize(image, (1296, 1024), interpolation=cv2.INTER_AREA)
    return procedural_concrete(1296, 1024, seed=0).pixels


def surface_to_shot(cx: float, cy: float, angle: float = 0.0, zoom: float = 1.0,
                    tilt: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Homography surface -> shot whose centre sees (cx, cy), rotated/zoomed/tilted."""
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    rotate_zoom = np.array([[zoom * c, -zoom * s, 0], [zoom * s, zoom * c, 0], [0, 0, 1.0]])
    perspective = np.array([[1, 0, 0], [0, 1, 0], [tilt[0], tilt[1], 1.0]])
    to_centre = np.array([[1, 0, SHOT / 2], [0, 1, SHOT / 2], [0, 0, 1.0]])
    return to_centre @ perspective @ rotate_zoom @ to_origin


def render(surface: np.ndarray, h: np.ndarray) -> np.ndarray:
    return cv2.warpPerspective(surface, h, (SHOT, SHOT), flags=cv2.INTER_AREA)


def footprint_mask(h: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    corners = np.array([[0, 0, 1], [SHOT, 0, 1], [SHOT, SHOT, 1], [0, SHOT, 1.0]])
    on_surface = corners @ np.linalg.inv(h).T
    xy = on_surface[:, :2] / on_surface[:, 2:]
    mask = np.zeros(shape, bool)
    rows, cols = raster_polygon(xy[:, 1], xy[:, 0], shape)
    mask[rows, cols] = True
    return mask


def true_overlap(ha: np.ndarray, hb: np.ndarray, shape: tuple[int, int]) -> float:
    a, b = footprint_mask(ha, shape), footprint_mask(hb, shape)
    return (a & b).sum() / min(a.sum(), b.sum())


# (view A, view B): centre, rotation (deg), zoom, perspective tilt.
CASES = {
    "shift_x_0.7": ((600, 500), (696, 500), {}),
    "shift_xy_0.3": ((600, 500), (760, 628), {}),
    "small_shift_0.95": ((600, 500), (608, 508), {}),
    "rotate_20": ((600, 500), (650, 520), {"angle": 20.0}),
    "zoom_1.3": ((600, 500), (720, 560), {"zoom": 1.3}),
    "zoom_0.8_rotate": ((600, 500), (700, 450), {"zoom": 0.8, "angle": -12.0}),
    "perspective": ((600, 500), (660, 540), {"tilt": (4e-4, -3e-4), "angle": 5.0}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_overlap_matches_known_homography(surface, name):
    (ax, ay), (bx, by), kwargs = CASES[name]
    ha, hb = surface_to_shot(ax, ay), surface_to_shot(bx, by, **kwargs)
    expected = true_overlap(ha, hb, surface.shape[:2])
    assert 0.25 <= expected <= 0.97, "case should span the overlaps of interest"
    fa = extract_features(render(surface, ha))
    fb = extract_features(render(surface, hb))
    result = verify_pair(fa, fb)
    assert result.status == "ok"
    assert result.inliers >= 15
    assert abs(result.overlap - expected) <= 0.05, (result.overlap, expected)


def test_overlap_is_symmetric(surface):
    ha, hb = surface_to_shot(600, 500), surface_to_shot(680, 560, angle=15.0, zoom=1.2)
    fa, fb = extract_features(render(surface, ha)), extract_features(render(surface, hb))
    assert abs(verify_pair(fa, fb).overlap - verify_pair(fb, fa).overlap) <= 0.01


def test_identical_images_overlap_one(surface):
    shot = render(surface, surface_to_shot(500, 400))
    features = extract_features(shot)
    result = verify_pair(features, features)
    assert result.status == "ok"
    assert result.overlap == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(result.homography, np.eye(3), atol=1e-3)


def test_overlap_in_original_pixels_across_resolutions(surface):
    """The same view at a third of the resolution still covers the same surface."""
    crop = surface[100:700, 100:700]
    small = cv2.resize(crop, (200, 200), interpolation=cv2.INTER_AREA)
    fa = extract_features(crop, max_side=400)
    fb = extract_features(small, max_side=400)
    assert fa.scale == pytest.approx(1.5) and fb.scale == pytest.approx(1.0)
    result = verify_pair(fa, fb)
    assert result.status == "ok"
    assert result.overlap == pytest.approx(1.0, abs=0.02)
    # A maps onto B's 200 px grid: a corner at (600, 600) lands near (200, 200).
    corner = result.homography @ np.array([600.0, 600.0, 1.0])
    np.testing.assert_allclose(corner[:2] / corner[2], [200, 200], atol=2.0)


@pytest.mark.parametrize("other", ["astronaut", "camera"])
def test_unrelated_photos_have_no_homography(surface, other):
    concrete = extract_features(render(surface, surface_to_shot(600, 500)))
    photo = extract_features(getattr(data, other)())
    result = verify_pair(concrete, photo)
    assert result.status == "no_homography" or result.overlap == 0.0
    assert result.overlap == 0.0


def test_disjoint_parts_of_the_same_wall_have_no_homography(surface):
    """The realistic negative: same material, no shared surface."""
    fa = extract_features(render(surface, surface_to_shot(300, 300)))
    fb = extract_features(render(surface, surface_to_shot(900, 700)))
    result = verify_pair(fa, fb)
    assert result.status == "no_homography"
    assert result.overlap == 0.0


def textureless_images() -> dict[str, np.ndarray]:
    ramp = np.linspace(90, 160, 400)
    return {
        "grey": np.full((300, 400), 128, np.uint8),
        "horizontal_gradient": np.tile(ramp, (300, 1)).astype(np.uint8),
        "radial_gradient": np.clip(
            200 - np.hypot(*np.mgrid[-150:150, -200:200]) / 2, 0, 255).astype(np.uint8),
    }


@pytest.mark.parametrize("name", sorted(textureless_images()))
def test_textureless_is_unverifiable(surface, name):
    flat = extract_features(textureless_images()[name])
    concrete = extract_features(render(surface, surface_to_shot(600, 500)))
    for fa, fb in [(flat, concrete), (concrete, flat), (flat, flat)]:
        result = verify_pair(fa, fb)
        assert result.status == "unverifiable"
        assert np.isnan(result.overlap) and result.inliers == 0


def test_missing_features_are_unverifiable(surface):
    concrete = extract_features(render(surface, surface_to_shot(600, 500)))
    assert verify_pair(None, concrete).status == "unverifiable"


def synthetic_features(points: np.ndarray, size=(1000, 1000), seed=0) -> ImageFeatures:
    """Features with distinct random ORB-like descriptors, one per point."""
    rng = np.random.default_rng(seed)
    descriptors = rng.integers(0, 256, (len(points), 32), dtype=np.uint8)
    return ImageFeatures(points.astype(np.float32), descriptors, size, size)


def test_shift_of_synthetic_keypoints_gives_exact_overlap():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1000, (300, 2))
    fa = synthetic_features(pts)
    moved = ImageFeatures((pts - [250, 0]).astype(np.float32), fa.descriptors, fa.size, fa.size)
    result = verify_pair(fa, moved)
    assert result.status == "ok"
    assert result.overlap == pytest.approx(0.75, abs=1e-3)


@pytest.mark.parametrize("transform", ["mirror", "tiny_scale", "extreme_shear"])
def test_degenerate_homographies_are_rejected(transform):
    """Consistent matches under a motion no camera over a wall makes must not pass."""
    rng = np.random.default_rng(2)
    pts = rng.uniform(0, 1000, (300, 2))
    mapped = {
        "mirror": np.c_[1000 - pts[:, 0], pts[:, 1]],
        "tiny_scale": pts * 0.1 + 400,
        "extreme_shear": np.c_[pts[:, 0] + 4 * pts[:, 1], pts[:, 1]] * [0.2, 1],
    }[transform]
    fa = synthetic_features(pts)
    fb = ImageFeatures(mapped.astype(np.float32), fa.descriptors, fa.size, fa.size)
    result = verify_pair(fa, fb)
    assert result.status == "no_homography"
    assert result.overlap == 0.0


@pytest.mark.parametrize("target", ["one_point", "collinear", "zero_scale_similarity"])
def test_singular_fits_are_failed_verifications(target):
    """Matches onto one point or one line give a singular model: no homography, no error."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 1000, (300, 2))
    mapped = {
        "one_point": np.tile([[500.0, 500.0]], (len(pts), 1)),
        "collinear": np.c_[pts[:, 0], np.full(len(pts), 300.0)],
        "zero_scale_similarity": pts * 1e-9 + 200,
    }[target]
    fa = synthetic_features(pts)
    fb = ImageFeatures(mapped.astype(np.float32), fa.descriptors, fa.size, fa.size)
    result = verify_pair(fa, fb)
    assert result.status == "no_homography"
    assert result.overlap == 0.0
    assert result.homography is None


@pytest.mark.parametrize("fitted", [
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]],    # rank 2
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],    # w = 0 everywhere
    [[np.nan, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    [[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
])
def test_singular_or_nan_model_from_the_robust_fit_is_no_homography(monkeypatch, fitted):
    """Whatever matrix the robust fit returns, the pair fails cleanly (issue #24, case 0)."""
    from mmselfsup_ext.dedup.verify import pairs as pairs_module

    pts = np.random.default_rng(4).uniform(0, 1000, (300, 2))
    fa = synthetic_features(pts)
    everyone = np.ones((len(pts), 1), np.uint8)
    monkeypatch.setattr(pairs_module.cv2, "findHomography",
                        lambda *a, **k: (np.array(fitted, dtype=np.float64), everyone))
    # The fallback similarity fit degenerates too: zero scale.
    monkeypatch.setattr(pairs_module.cv2, "estimateAffinePartial2D",
                        lambda *a, **k: (np.zeros((2, 3)), everyone))
    result = verify_pair(fa, fa)
    assert (result.status, result.overlap, result.homography) == ("no_homography", 0.0, None)


@pytest.mark.parametrize("seed", range(40))
def test_verification_never_raises_on_arbitrary_matches(seed):
    """Random (often degenerate) correspondences: every outcome is a valid Verification."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 200))
    size = (int(rng.integers(16, 2000)), int(rng.integers(16, 2000)))
    pts = rng.uniform(0, 1, (n, 2)) * size
    kind = seed % 4
    if kind == 0:    # a random projective map, often far from a camera motion
        h = np.eye(3) + rng.normal(0, 0.5, (3, 3)) * [[1, 1, 100], [1, 1, 100], [1e-3, 1e-3, 0]]
        image = np.c_[pts, np.ones(n)] @ h.T
        mapped = image[:, :2] / np.where(np.abs(image[:, 2:]) < 1e-9, 1e-9, image[:, 2:])
    elif kind == 1:  # a few distinct targets, repeated
        mapped = rng.uniform(0, 1, (3, 2))[rng.integers(0, 3, n)] * size
    elif kind == 2:  # pure noise
        mapped = rng.uniform(0, 1, (n, 2)) * size
    else:            # huge coordinates
        mapped = pts * 1e7
    fa = synthetic_features(pts, size=size, seed=seed)
    fb = ImageFeatures(mapped.astype(np.float32), fa.descriptors, size, size)
    result = verify_pair(fa, fb)
    assert result.status in ("ok", "no_homography")
    assert 0.0 <= result.overlap <= 1.0
    if result.status == "ok":
        assert np.all(np.isfinite(result.homography))
    else:
        assert result.homography is None


def test_extract_features_reduces_size_and_accepts_pil(surface):
    shot = surface[:480, :960]
    features = extract_features(Image.fromarray(shot), max_side=320, n_features=500)
    assert features.size == (320, 160) and features.original_size == (960, 480)
    assert features.scale == pytest.approx(3.0)
    assert 0 < features.n_keypoints <= 500
    assert features.keypoints.dtype == np.float32
    assert features.descriptors.shape == (features.n_keypoints, 32)
    assert np.all(features.keypoints >= 0) and np.all(features.keypoints < [320, 160])
    from_array = extract_features(shot, max_side=320, n_features=500)
    np.testing.assert_array_equal(from_array.keypoints, features.keypoints)


def test_sift_detector_verifies_too(surface):
    ha, hb = surface_to_shot(600, 500), surface_to_shot(696, 500)
    fa = extract_features(render(surface, ha), detector="sift", n_features=800)
    fb = extract_features(render(surface, hb), detector="sift", n_features=800)
    assert fa.descriptors.dtype == np.float32
    result = verify_pair(fa, fb)
    assert result.status == "ok"
    assert abs(result.overlap - true_overlap(ha, hb, surface.shape[:2])) <= 0.05


@pytest.mark.parametrize("workers", [1, 2])
def test_verify_pairs_measures_every_pair_in_any_order(surface, workers):
    # Overlaps 0.8, 0.6 and 0.4 (>= 50 inliers on the photo and on the procedural wall).
    views = [surface_to_shot(400 + 64 * k, 500) for k in range(4)]
    features = [extract_features(render(surface, h), n_features=800) for h in views]
    i = np.array([0, 0, 0, 1, 1, 2, 0])
    j = np.array([1, 2, 3, 2, 3, 3, 1])
    found = verify_pairs(features, i, j, workers=workers, progress=False)
    assert found.overlap.shape == found.inliers.shape == found.status.shape == (7,)
    assert found.homography.shape == (7, 3, 3)
    for p in range(7):
        expected = true_overlap(views[i[p]], views[j[p]], surface.shape[:2])
        assert abs(found.overlap[p] - expected) <= 0.05
        assert found.status[p] == "ok"
    assert found.overlap[0] == found.overlap[6] and found.inliers[0] == found.inliers[6]


def test_unreadable_image_makes_its_pairs_unverifiable(surface):
    good = extract_features(render(surface, surface_to_shot(500, 500)), n_features=500)
    other = extract_features(render(surface, surface_to_shot(560, 500)), n_features=500)
    found = verify_pairs([good, other, None], [0, 1], [1, 2], progress=False)
    assert list(found.status) == ["ok", "unverifiable"]
    assert np.isnan(found.overlap[1]) and found.inliers[1] == 0
    assert np.isnan(found.homography[1]).all() and np.isfinite(found.homography[0]).all()


def test_packed_rows_give_back_the_features(surface, tmp_path):
    shot = render(surface, surface_to_shot(600, 500))
    Image.fromarray(shot).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    encoder = FeatureEncoder(max_side=320, n_features=300)
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    result = encoder.encode(paths, progress=False)
    assert result.codes["features"].shape == (1, encoder.tags["features"] // 8)
    assert [p.name for p, _ in result.unreadable] == ["b.png"]
    store = FeatureStore.from_encoding(result, paths, encoder)
    direct = extract_features(shot, max_side=320, n_features=300)
    unpacked = store[0]
    np.testing.assert_array_equal(unpacked.keypoints, direct.keypoints)
    np.testing.assert_array_equal(unpacked.descriptors, direct.descriptors)
    assert (unpacked.size, unpacked.original_size) == (direct.size, direct.original_size)
    assert store[1] is None and store.n_keypoints().tolist() == [direct.n_keypoints, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"detector": "surf"}, "detector must be one of"),
    ({"max_side": 8}, "max_side must be"),
    ({"n_features": 0}, "n_features must be"),
])
def test_extract_features_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_features(np.zeros((64, 64), np.uint8), **kwargs)


def test_extract_features_rejects_bad_images():
    with pytest.raises(ValueError, match="uint8"):
        extract_features(np.zeros((64, 64), np.float32))
    with pytest.raises(ValueError, match="shape"):
        extract_features(np.zeros((64, 64, 2), np.uint8))


@pytest.mark.parametrize("kwargs, message", [
    ({"ratio": 1.5}, "ratio must be"),
    ({"ransac_threshold": 0}, "ransac_threshold must be"),
    ({"min_inliers": 3}, "min_inliers must be"),
])
def test_verify_pair_rejects_bad_arguments(kwargs, message):
    features = synthetic_features(np.random.default_rng(0).uniform(0, 100, (50, 2)))
    with pytest.raises(ValueError, match=message):
        verify_pair(features, features, **kwargs)


def test_verify_pairs_rejects_bad_indices():
    with pytest.raises(ValueError, match="equal length"):
        verify_pairs([None, None], [0, 1], [1], progress=False)
    with pytest.raises(ValueError, match="must lie in"):
        verify_pairs([None, None], [0], [2], progress=False)


def test_coverage_keep_does_not_drop_the_far_end_of_a_chain():
    """A~B~C with A, C disjoint: components would keep only A and lose C."""
    keep = pairwise_keep(3, np.array([0, 1, 0]), np.array([1, 2, 2]),
                         np.array([True, True, False]))
    assert keep.tolist() == [True, False, True]


@pytest.mark.parametrize("seed", range(5))
def test_coverage_keep_removes_only_covered_images(seed):
    rng = np.random.default_rng(seed)
    n = 40
    i, j = np.triu_indices(n, 1)
    duplicate = rng.random(i.size) < 0.08
    order = rng.permutation(n)
    keep = pairwise_keep(n, j, i, duplicate, order)  # pairs given in (larger, smaller) order
    adjacent = np.zeros((n, n), bool)
    adjacent[i[duplicate], j[duplicate]] = adjacent[j[duplicate], i[duplicate]] = True
    assert keep[order[0]]
    for k in np.flatnonzero(~keep):
        assert adjacent[k, keep].any(), f"image {k} removed without a kept duplicate"
    assert not adjacent[np.ix_(keep, keep)].any(), "two kept images duplicate each other"
    assert pairwise_keep(n, i, j, np.zeros_like(duplicate)).all()


def test_coverage_keep_rejects_bad_arguments():
    with pytest.raises(ValueError, match="permutation"):
        pairwise_keep(3, np.array([0]), np.array([1]), np.array([True]), order=np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="must lie in"):
        pairwise_keep(2, np.array([0]), np.array([2]), np.array([True]))
    with pytest.raises(ValueError, match="equal length"):
        pairwise_keep(3, np.array([0, 1]), np.array([1]), np.array([True]))


def test_thin_strip_overlaps_are_measured(surface):
    """Overlaps down to the narrowest strip ORB can match at 320 px are measured."""
    rng = np.random.default_rng(0)
    ha = surface_to_shot(500, 500)
    fa = extract_features(render(surface, ha))
    n_ok = 0
    for k in range(16):
        across, along = rng.choice([-1, 1]) * rng.uniform(215, 240), rng.uniform(-40, 40)
        dx, dy = (across, along) if k % 2 else (along, across)
        hb = surface_to_shot(500 + dx, 500 + dy, angle=rng.uniform(-4, 4),
                             tilt=rng.normal(0, 2e-4, 2))
        expected = true_overlap(ha, hb, surface.shape[:2])
        result = verify_pair(fa, extract_features(render(surface, hb)))
        if result.status == "ok":
            n_ok += 1
            assert abs(result.overlap - expected) <= 0.05, (result, expected)
        else:
            # Strips under ~0.22 of a 320 px shot are narrower than ORB's border + patch.
            assert result.status == "no_homography" and expected < 0.25
    assert n_ok >= 12


@pytest.mark.parametrize("seed", range(3))
def test_inliers_in_a_corner_of_the_overlap_do_not_extrapolate(seed):
    """The flight failure mode: matches cover a small patch of a larger shared region.

    A homography fitted to a 30 px cluster extrapolates its perspective terms wildly
    (measured: errors up to 0.56 with ``min_support=0``); the claim must be refused or
    the similarity fallback must measure the true 150 x 150 px shared corner.
    """
    rng = np.random.default_rng(seed)
    n, shift = 25, np.array([170.0, 170.0])
    in_a = rng.uniform(170, 200, (n, 2))
    in_b = in_a - shift + rng.normal(0, 1.0, (n, 2))
    shared = rng.integers(0, 256, (n, 32), dtype=np.uint8)

    def features(points: np.ndarray) -> ImageFeatures:
        clutter = rng.uniform(0, 320, (60, 2))
        descriptors = np.r_[shared, rng.integers(0, 256, (60, 32), dtype=np.uint8)]
        return ImageFeatures(np.r_[points, clutter].astype(np.float32), descriptors,
                             (320, 320), (320, 320))

    result = verify_pair(features(in_a), features(in_b))
    assert result.status == "ok" and result.model == "similarity"
    assert result.overlap == pytest.approx((150 / 320) ** 2, abs=0.05)


def test_dim_low_contrast_shots_still_verify(surface):
    ha, hb = surface_to_shot(600, 500), surface_to_shot(700, 540)
    dim = [(render(surface, h).astype(np.float32) * 0.3 + 60).astype(np.uint8) for h in (ha, hb)]
    result = verify_pair(extract_features(dim[0]), extract_features(dim[1]))
    assert result.status == "ok"
    assert abs(result.overlap - true_overlap(ha, hb, surface.shape[:2])) <= 0.05


def test_noisy_blank_wall_is_never_a_duplicate():
    rng = np.random.default_rng(3)
    shots = [np.clip(128 + rng.normal(0, 2, (300, 400)), 0, 255).astype(np.uint8)
             for _ in range(2)]
    result = verify_pair(extract_features(shots[0]), extract_features(shots[1]))
    assert result.status in ("unverifiable", "no_homography")
    assert not result.overlap >= 0.5


def test_ransac_estimator_is_accurate_too(surface):
    ha, hb = surface_to_shot(600, 500), surface_to_shot(660, 540, angle=8.0)
    fa, fb = extract_features(render(surface, ha)), extract_features(render(surface, hb))
    result = verify_pair(fa, fb, estimator="ransac")
    assert result.status == "ok" and result.model == "homography"
    assert abs(result.overlap - true_overlap(ha, hb, surface.shape[:2])) <= 0.05


@pytest.mark.parametrize("width", [32, 61])
def test_ratio_matches_agree_with_opencv_bruteforce(width):
    """61 bytes is AKAZE's descriptor width: checks the zero padding to whole words."""
    rng = np.random.default_rng(width)
    da = rng.integers(0, 256, (150, width), dtype=np.uint8)
    db = np.concatenate([da[:100] ^ (rng.random((100, width)) < 0.03).astype(np.uint8),
                         rng.integers(0, 256, (80, width), dtype=np.uint8)])
    ia, ib = ratio_matches(da, db, 0.8)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    expected = [(q, p[0].trainIdx) for q, p in enumerate(pairs)
                if p[0].distance < 0.8 * p[1].distance]
    assert list(zip(ia.tolist(), ib.tolist())) == expected
    assert len(expected) >= 90


def test_akaze_works_or_says_why_not(surface):
    shot = render(surface, surface_to_shot(600, 500))
    if not hasattr(cv2, "AKAZE_create"):
        with pytest.raises(ValueError, match="opencv-contrib"):
            extract_features(shot, detector="akaze")
        return
    ha, hb = surface_to_shot(600, 500), surface_to_shot(696, 500)
    fa = extract_features(render(surface, ha), detector="akaze")
    fb = extract_features(render(surface, hb), detector="akaze")
    result = verify_pair(fa, fb)
    assert result.status == "ok"
    assert abs(result.overlap - true_overlap(ha, hb, surface.shape[:2])) <= 0.05
