"""SimCLR pipeline: two independently augmented 256 px views of one image.

Per view (docs/design.md §4): random resized crop, flip 0.5, ColorJitter(0.8, 0.8, 0.8, 0.2)
with probability 0.8, Gaussian blur sigma in [0.1, 2] with probability 0.5. The crop
scale range is SimCLR's default, which the paper does not change.
"""
_base_ = ["./folder.py"]

img_size = 256
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
# A short last batch would give NT-Xent fewer negatives than every other step.
train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
