"""Stage 1 of the shipped default model: SwinFpnMIM on the generated concrete tiles.

The "small-cpu" SwinFpn at 128 px, batch 8, 1 epoch over ``tools/make_training_data.py``'s
1200 tiles (150 iterations: 10 min on 2 CPU cores shared with other jobs). A short run of a small
model learns faster with a larger rate than the paper's 1e-4: 5e-4 after a 50-iteration warm-up,
cosine to lr/20. Its last checkpoint initialises every ``*_small-cpu_*_concrete.py`` hash config.

Reproduce (see mmselfsup_ext/model_zoo/README.md)::

    python tools/make_training_data.py --out data/concrete --seed 0
    python tools/train.py configs/selfsup/simmim/simmim_swin_small-cpu_fpn_1xb8-coslr-1e_concrete.py
"""
_base_ = ["./simmim_swin_small-cpu_fpn_1xb8-coslr-2e.py"]

data_root = "data/concrete/"
lr = 5e-4
max_epochs = 1
warmup_iters = 50

train_dataloader = dict(dataset=dict(data_root=data_root))
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="CosineAnnealingLR", T_max=max_epochs, eta_min=lr / 20, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
