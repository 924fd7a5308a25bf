"""The paper's SimCLR views at 128 px for the CPU models: batch 8, one loader worker beside 2 compute threads."""
_base_ = ["./folder.py"]

img_size = 128
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
train_dataloader = dict(batch_size=8, num_workers=1, pin_memory=False, drop_last=True,
                        dataset=dict(pipeline=train_pipeline))
