"""Plain SimCLR baseline on the paper's backbone and neck: NT-Xent on z, codes = sign(z).

Swin-T + FPN, GAP + MLP 768-768-320 (``NonLinearNeck``), ImageNet normalisation.
"""
# The paper's SwinFpnMIM (``simmim/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e.py``) after its last epoch;
# point elsewhere with ``--cfg-options model.backbone_init=PATH``.
mim_checkpoint = "work_dirs/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e/epoch_800.pth"
model = dict(
    type="SimCLR",
    data_preprocessor=dict(type="SelfSupDataPreprocessor", mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=False),
    backbone=dict(type="SwinFpn", arch="tiny", img_size=256, window_size=6, patch_size=4, drop_path_rate=0.1,
                  dropout=0.1),
    neck=dict(type="NonLinearNeck", in_channels=768, hid_channels=768, out_channels=320),
    head=dict(type="ContrastiveHead", temperature=0.1),
    backbone_init=mim_checkpoint,
)
