"""Two overlapping 256 px crops of one image and where each shows the other (spatial hashing).

``OverlapViews``: the nominal boxes overlap by 0.3 to 1, each view is rotated by up to
5 degrees and scaled by up to 10 %, and re-exposed as inspection shots are
(brightness/contrast +-40 %, little colour change, blur) rather than SimCLR's
(0.8, 0.8, 0.8, 0.2). The image is mirrored (p 0.5) once, before cropping, so both views
share the mirror: a flight never mirrors a shot. Overlaps down to 0.3: the dense loss
only pairs cells that show the same surface point, and views that share little teach
the codes where two shots stop overlapping. ``view_geometry`` carries the
correspondence to the model.
"""
_base_ = ["./folder.py"]

img_size = 256
view_pipeline = [
    dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.02, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomFlip", prob=0.5),
    dict(type="OverlapViews", size=img_size, crop_scale=(0.45, 0.7), ratio=(1.0, 1.35), min_overlap=0.3,
         max_rotation=5.0, max_scale=0.1, transforms=view_pipeline),
    dict(type="PackSelfSupInputs", meta_keys=("img_path", "view_geometry")),
]
train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
