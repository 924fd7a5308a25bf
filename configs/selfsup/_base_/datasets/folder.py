"""Unlabeled image folder, read recursively: the loader every pipeline shares.

Retarget with ``--cfg-options train_dataloader.dataset.data_root=DIR``. The pipelines
(``folder_<algorithm>.py`` and the 128 px CPU ones) set ``train_dataloader.dataset.pipeline``.
"""
data_root = "data/concrete/"

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="pseudo_collate"),
    dataset=dict(type="ImageFolderDataset", data_root=data_root),
)
