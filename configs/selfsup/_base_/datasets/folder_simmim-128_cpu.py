"""The SimMIM pipeline at 128 px for the CPU models: batch 8, one loader worker beside 2 compute threads."""
_base_ = ["./folder.py"]

img_size = 128
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomResizedCrop", size=img_size, scale=(0.67, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)),
    dict(type="RandomFlip", prob=0.5),
    dict(type="SimMIMMaskGenerator", input_size=img_size, mask_patch_size=32, model_patch_size=4, mask_ratio=0.6),
    dict(type="PackSelfSupInputs"),
]
train_dataloader = dict(batch_size=8, num_workers=1, pin_memory=False, dataset=dict(pipeline=train_pipeline))
