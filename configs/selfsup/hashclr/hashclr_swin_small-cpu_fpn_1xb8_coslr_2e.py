"""CPU-sized SwinFpnHashCLR: the "small-cpu" SwinFpn at 128 px, batch 8, 2 epochs.

Same views, neck, head and schedule shape as the paper config; trains in minutes on 2
CPU cores. The backbone starts from the CPU SwinFpnMIM's last checkpoint
(``mim_checkpoint``; train that config first or set ``model.backbone_init``).
"""
_base_ = [
    "../_base_/models/swin-tiny-fpn_hashclr.py",
    "../_base_/datasets/folder_simclr.py",
    "../_base_/schedules/adamw_coslr-2e_cpu.py",
    "../_base_/default_runtime.py",
]

img_size = 128
mim_checkpoint = "work_dirs/simmim_swin_small-cpu_fpn_1xb8-coslr-2e/epoch_2.pth"
model = dict(
    backbone=dict(arch="small-cpu", img_size=img_size, window_size=4),
    neck=dict(in_channels=128, hid_channels=128),
    backbone_init=mim_checkpoint,
)
view_pipeline = [
    dict(type="RandomResizedCrop", size=img_size, scale=(0.08, 1.0)),
    dict(type="RandomFlip", prob=0.5),
    dict(type="ColorJitter", brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="MultiView", num_views=2, transforms=view_pipeline),
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
custom_hooks = [dict(type="HashGammaHook")]
