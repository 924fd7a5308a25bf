"""Geometric verification of candidate duplicate pairs.

A Hamming distance says two codes are close; an inspection engineer needs to know how
much surface two photos share. This package measures that directly: keypoints (ORB by
default) at a reduced size, brute-force matching with Lowe's ratio test, a RANSAC
homography, and the overlap of the warped outline of one image with the other, as a
fraction of the smaller footprint. Features are computed once per image and cached for
the run, so verifying P pairs over N images costs N extractions and P matchings.

Examples
--------
>>> from mmselfsup_ext.fileio.loading import load_image
>>> overlap, inliers, status = verify_pairs(paths, i, j, load_image)  # doctest: +SKIP
>>> duplicate = overlap >= 0.5                                       # doctest: +SKIP
"""
from .features import DETECTORS, FeatureCache, ImageFeatures, extract_features
from .pairs import STATUSES, Verification, verify_pair, verify_pairs

__all__ = [
    "DETECTORS",
    "STATUSES",
    "FeatureCache",
    "ImageFeatures",
    "Verification",
    "extract_features",
    "verify_pair",
    "verify_pairs",
]
