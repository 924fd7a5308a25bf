"""Runtime shared by every config: hooks, logging, visualisation, environment.

Losses, learning rate, ETA and timings are logged every ``default_hooks.logger.interval``
iterations to the console, to ``<work_dir>/<timestamp>/<timestamp>.log`` and, through
the local visualisation backend, to ``<work_dir>/<timestamp>/vis_data/scalars.json``.

TensorBoard is one switch away (needs ``pip install tensorboard``)::

    python tools/train.py CONFIG --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend

(``tensorboard --logdir <work_dir>`` then shows the curves).
"""
default_scope = "mmselfsup_ext"

default_hooks = dict(
    runtime_info=dict(type="RuntimeInfoHook"),
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=10),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when a distributed launcher runs without CUDA.
    dist_cfg=dict(backend="nccl"),
)

vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="Visualizer", vis_backends=vis_backends)

log_processor = dict(window_size=10)
log_level = "INFO"

load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
