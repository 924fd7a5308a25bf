"""Geometric verification of candidate duplicate pairs.

A Hamming distance says two codes are close; an inspection engineer needs to know how
much surface two photos share. This package measures that directly: keypoints (ORB by
default) at a reduced size, brute-force matching with Lowe's ratio test, a robust
homography, and the overlap of the warped outline of one image with the other, as a
fraction of the smaller footprint. Features are extracted once per image
(:class:`FeatureEncoder`, cached like codes), so verifying P pairs over N images costs
N extractions and P matchings.

Examples
--------
>>> enc = FeatureEncoder(n_features=1000)
>>> store = FeatureStore.from_encoding(enc.encode(paths), paths, enc)   # doctest: +SKIP
>>> found = verify_pairs(store, i, j)                                    # doctest: +SKIP
>>> duplicate = found.overlap >= 0.5                                     # doctest: +SKIP
"""
from .features import (DETECTORS, FeatureEncoder, FeatureStore, ImageFeatures, extract_features,
                       pack_features, unpack_features)
from .pairs import STATUSES, Verification, VerifiedPairs, verify_pair, verify_pairs

__all__ = [
    "DETECTORS",
    "STATUSES",
    "FeatureEncoder",
    "FeatureStore",
    "ImageFeatures",
    "Verification",
    "VerifiedPairs",
    "extract_features",
    "pack_features",
    "unpack_features",
    "verify_pair",
    "verify_pairs",
]
