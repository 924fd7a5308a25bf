"""Plain SimCLR baseline on the same backbone and neck: NT-Xent on z, codes = sign(z)."""
model = dict(
    type="SimCLR",
    data_preprocessor=dict(
        type="SelfSupDataPreprocessor",
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=False,
    ),
    backbone=dict(
        type="SwinFpn",
        arch="tiny",
        img_size=256,
        window_size=6,
        patch_size=4,
        drop_path_rate=0.1,
        dropout=0.1,
    ),
    neck=dict(type="NonLinearNeck", in_channels=768, hid_channels=768, out_channels=320),
    head=dict(type="ContrastiveHead", temperature=0.1),
    backbone_init=None,
)
