"""Paper-sized spatial hash: Swin-T + FPN at 256 px, 2 GPUs x 16, 120 epochs, dense correspondence.

The paper's SwinFpnHashCLR schedule and backbone (initialised from the SwinFpnMIM
checkpoint ``mim_checkpoint``), with the global GAP head replaced by one 64-bit code per
stride-16 cell and the photometric-only views by two overlapping crops whose geometry
is returned (``OverlapViews`` with ``view_geometry``). Output tags
``spatialhash64x<h>x<w>`` (not the paper's ``hashclr<bits>``). Train with::

    bash tools/dist_train.sh configs/selfsup/spatialhash/spatialhash_swin_tiny_fpn_2xb16_coslr_120e.py 2 \
        --cfg-options train_dataloader.dataset.data_root=DATA/
"""
_base_ = [
    "../_base_/models/swin-tiny-fpn_spatialhash.py",
    "../_base_/datasets/folder_simclr.py",
    "../_base_/schedules/adamw_coslr-120e.py",
    "../_base_/default_runtime.py",
]

img_size = 256
# Encode at the training size: a whole shot then shows the surface at the scale of the
# training views (mmselfsup_ext.apis reads this as the default --img-size).
inference_img_size = 256
mim_checkpoint = "work_dirs/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e/epoch_800.pth"
model = dict(backbone_init=mim_checkpoint)

view_pipeline = [
    dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.02, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
# Overlaps down to 0.3: the loss only pairs cells that show the same surface point, and
# views that share little teach the codes where two shots stop overlapping.
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomFlip", prob=0.5),
    dict(type="OverlapViews", size=img_size, crop_scale=(0.45, 0.7), ratio=(1.0, 1.35), min_overlap=0.3,
         max_rotation=5.0, max_scale=0.1, transforms=view_pipeline),
    dict(type="PackSelfSupInputs", meta_keys=("img_path", "view_geometry")),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type="HashGammaHook")]
