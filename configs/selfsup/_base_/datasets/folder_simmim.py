"""SimMIM pipeline: one 256 px crop and its random block mask (32 px tokens, ratio 0.6)."""
_base_ = ["./folder.py"]

img_size = 256
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomResizedCrop", size=img_size, scale=(0.67, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)),
    dict(type="RandomFlip", prob=0.5),
    dict(type="SimMIMMaskGenerator", input_size=img_size, mask_patch_size=32, model_patch_size=4, mask_ratio=0.6),
    dict(type="PackSelfSupInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
