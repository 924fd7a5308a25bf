"""CPU-sized SwinFpnMIM: the "small-cpu" SwinFpn at 128 px, batch 8, 2 epochs.

Same pipeline, mask (32 px tokens, ratio 0.6), decoder, loss and schedule shape as the
paper config; trains in minutes on 2 CPU cores. Its last checkpoint initialises
``simclr_swin_small-cpu_fpn_1xb8_coslr_2e.py``.
"""
_base_ = [
    "../_base_/models/swin-tiny-fpn_simmim.py",
    "../_base_/datasets/folder_simmim.py",
    "../_base_/schedules/adamw_coslr-2e_cpu.py",
    "../_base_/default_runtime.py",
]

img_size = 128
model = dict(
    backbone=dict(arch="small-cpu", img_size=img_size, window_size=4),
    neck=dict(in_channels=128),
)
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomResizedCrop", size=img_size, scale=(0.67, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)),
    dict(type="RandomFlip", prob=0.5),
    dict(type="SimMIMMaskGenerator", input_size=img_size, mask_patch_size=32, model_patch_size=4, mask_ratio=0.6),
    dict(type="PackSelfSupInputs"),
]
# One loader worker beside 2 compute threads; log every iteration for visible progress.
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    pin_memory=False,
    dataset=dict(pipeline=train_pipeline),
)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
log_processor = dict(window_size=1)
