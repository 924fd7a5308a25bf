"""Paper-faithful SwinFpnHashCLR on the concrete tiles (comparison for the shipped model).

As in the paper, the two views of an image differ only photometrically: one shot-sized
random crop of a tile (about the area a view of ``OverlapViews`` covers) is taken once,
then each view is independently flipped (p 0.5), colour-jittered (0.8, 0.8, 0.8, 0.2;
p 0.8) and blurred (sigma 0.1-2; p 0.5). Model, loss and optimiser (AdamW
lr 1e-3) as in ``hashclr-overlap_swin_small-cpu_fpn_1xb8_coslr_2e_concrete.py``; trained for
1 epoch (150 iterations) only, for lack of CPU time (say so when comparing). Inputs are
normalised with the fixed ImageNet statistics, as in the paper.

Reproduce::

    python tools/train.py configs/selfsup/hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py
"""
_base_ = ["./hashclr-overlap_swin_small-cpu_fpn_1xb8_coslr_2e_concrete.py"]

img_size = 128
lr = 1e-3
max_epochs = 1
warmup_iters = 30

view_pipeline = [
    dict(type="RandomFlip", prob=0.5),
    dict(type="ColorJitter", brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomResizedCrop", size=img_size, scale=(0.2, 0.5), ratio=(1.0, 1.35)),
    dict(type="MultiView", num_views=2, transforms=view_pipeline),
    dict(type="PackSelfSupInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# The paper's fixed ImageNet normalisation, not the default model's per-image one.
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type="SelfSupDataPreprocessor",
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=False,
    )
)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="CosineAnnealingLR", T_max=max_epochs, eta_min=lr / 20, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
