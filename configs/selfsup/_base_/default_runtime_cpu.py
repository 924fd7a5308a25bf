"""The runtime of the CPU models trained on the concrete tiles: seeded, a checkpoint every epoch.

Only the last checkpoint is kept (the next stage or ``tools/publish_model.py`` reads it).
With ``randomness.seed = 0`` a rerun on the same machine repeats the weights; on another
(thread count, BLAS) they agree in distribution, not bit for bit.
"""
_base_ = ["./default_runtime.py"]

default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
