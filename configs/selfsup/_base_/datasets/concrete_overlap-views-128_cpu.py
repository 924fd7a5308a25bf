"""``overlap_views.py`` at 128 px for the CPU models, with a second variant for the global codes.

``train_pipeline`` (overlaps down to 0.3, ``view_geometry`` for the dense loss) trains the
spatial hash; ``global_pipeline`` (overlaps of 0.55 to 1: a global code cannot say which
part two views share, so it only learns from views that share most) trains the
overlap-aware HashCLR, whose configs select it. Batch 8, one loader worker.
"""
_base_ = ["./folder.py"]

img_size = 128
view_pipeline = [
    dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.02, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
overlap = dict(type="OverlapViews", size=img_size, crop_scale=(0.45, 0.7), ratio=(1.0, 1.35), max_rotation=5.0,
               max_scale=0.1, transforms=view_pipeline)
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomFlip", prob=0.5),
    dict(overlap, min_overlap=0.3),
    dict(type="PackSelfSupInputs", meta_keys=("img_path", "view_geometry")),
]
global_pipeline = [dict(type="LoadImage"), dict(type="RandomFlip", prob=0.5), dict(overlap, min_overlap=0.55),
                   dict(type="PackSelfSupInputs")]
train_dataloader = dict(batch_size=8, num_workers=1, pin_memory=False, drop_last=True,
                        dataset=dict(pipeline=train_pipeline))
