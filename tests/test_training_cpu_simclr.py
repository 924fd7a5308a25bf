"""The CPU SimCLR-baseline config trains 2 iterations through the tools/train.py set-up."""
from __future__ import annotations

import math

from test_training_cpu_configs import _changed, data_root, train  # noqa: F401 - data_root is a fixture

SIMCLR_CPU = "simclr/simclr-baseline_swin_small-cpu_fpn_1xb8_coslr_2e.py"


def test_simclr_baseline_cpu_config_trains_two_iterations(data_root, tmp_path):
    recorder, runner = train(SIMCLR_CPU, tmp_path, data_root, **{"model.backbone_init": None})
    assert runner.iter == 2
    # NT-Xent over 2 x 2 views, cosine similarities in [-1, 1], temperature 0.1:
    # 0 < loss <= log(3 candidates) + 2 / 0.1.
    assert all(0 < out["loss"] <= math.log(3) + 20 for out in recorder.outputs)
    assert _changed(recorder.start_state, runner.model.state_dict(), "backbone.")
