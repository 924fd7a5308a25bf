"""The paper schedule shrunk for CPU smoke runs: 1 warm-up epoch, cosine over the 2nd."""
_base_ = ["./adamw_coslr-800e.py"]

lr = 1e-4
max_epochs = 2
warmup_epochs = 1

param_scheduler = [
    dict(
        type="LinearLR",
        start_factor=1 / 200,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type="CosineAnnealingLR",
        T_max=max_epochs - warmup_epochs,
        eta_min=lr / 20,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]

train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=8, enable=False)
