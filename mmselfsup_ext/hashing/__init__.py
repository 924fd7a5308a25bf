"""Torch-free hashing toolkit: packed codes, classical hashes, Hamming search, Otsu."""
from .cell_codes import (CellGrid, all_pairs_agreement, best_alignment, cell_distances, check_scales,
                         fewest_shared_cells, footprint_overlap, pack_cell_codes, shift_agreement, shift_counts,
                         unpack_cell_codes)
from .classical import CLASSICAL_METHODS, classical_hash, classical_tag, min_decode_size
from .codes import codes_to_hex, hex_to_codes, pack_bits, unpack_bits
from .hamming import (
    RADIUS_METHODS,
    distance_histogram,
    histogram_and_radius_pairs,
    knn_distances,
    pair_distances,
    radius_pairs,
)
from .otsu import otsu_threshold, otsu_threshold_bounds
from .sampling import dkw_epsilon, sampled_distance_histogram, sampled_knn_distances

__all__ = [
    "CLASSICAL_METHODS",
    "CellGrid",
    "RADIUS_METHODS",
    "all_pairs_agreement",
    "best_alignment",
    "cell_distances",
    "check_scales",
    "classical_hash",
    "classical_tag",
    "codes_to_hex",
    "distance_histogram",
    "fewest_shared_cells",
    "footprint_overlap",
    "dkw_epsilon",
    "hex_to_codes",
    "histogram_and_radius_pairs",
    "knn_distances",
    "min_decode_size",
    "otsu_threshold",
    "otsu_threshold_bounds",
    "pack_bits",
    "pack_cell_codes",
    "pair_distances",
    "radius_pairs",
    "sampled_distance_histogram",
    "sampled_knn_distances",
    "shift_agreement",
    "shift_counts",
    "unpack_bits",
    "unpack_cell_codes",
]
