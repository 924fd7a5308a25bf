"""Unlabeled image folder, SimMIM pipeline: one 256 px crop and its random block mask.

Retarget with ``--cfg-options train_dataloader.dataset.data_root=DIR``.
"""
data_root = "data/concrete/"
img_size = 256

train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomResizedCrop", size=img_size, scale=(0.67, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)),
    dict(type="RandomFlip", prob=0.5),
    dict(type="SimMIMMaskGenerator", input_size=img_size, mask_patch_size=32, model_patch_size=4, mask_ratio=0.6),
    dict(type="PackSelfSupInputs"),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="pseudo_collate"),
    dataset=dict(type="ImageFolderDataset", data_root=data_root, pipeline=train_pipeline),
)
