"""Paper-faithful views of the concrete tiles at 128 px: two photometric copies of one shot-sized crop.

As in the paper, the two views of an image differ only photometrically: one shot-sized
random crop of a tile (about the area a view of ``OverlapViews`` covers) is taken once,
then each view is independently flipped (p 0.5), colour-jittered (0.8, 0.8, 0.8, 0.2;
p 0.8) and blurred (sigma 0.1-2; p 0.5). Batch 8, one loader worker.
"""
_base_ = ["./folder.py"]

img_size = 128
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
train_dataloader = dict(batch_size=8, num_workers=1, pin_memory=False, drop_last=True,
                        dataset=dict(pipeline=train_pipeline))
