"""The ground-truth coverage map: kept, lost and never-photographed surface per wall."""
from __future__ import annotations

import numpy as np

from mmselfsup_ext.evaluation.coverage_map import KEPT_COLOUR, LOST_COLOUR, coverage_map
from mmselfsup_ext.evaluation.scoring import load_ground_truth


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_kept_and_lost_surface_are_painted_in_proportion():
    # Two 100 x 100 shots side by side on one wall, the left one kept.
    gt = load_ground_truth({"shots": [{"file": "a.jpg", "footprint": _rect(0, 0, 100, 100)},
                                      {"file": "b.jpg", "footprint": _rect(100, 0, 200, 100)}],
                            "pairs": []})
    picture = np.asarray(coverage_map(gt, [0], height=100))
    kept = np.all(picture == KEPT_COLOUR, axis=2)
    lost = np.all(picture == LOST_COLOUR, axis=2)
    assert picture.shape[:2] == (100, 200)
    # Half the wall each (the caption covers a few pixels of the kept half).
    assert abs(lost.mean() - 0.5) < 0.01 and 0.45 < kept.mean() <= 0.5
    assert lost[:, 100:].all() and not lost[:, :100].any()
