"""SwinFpnHashCLR: Swin-T + FPN, GAP + MLP 768-768-320, tanh(gamma z) hash relaxation.

Loss: NT-Xent (temperature 0.1) on the L2-normalised relaxed codes of two views plus
beta * mean(1 - |b|) with beta = 1; gamma = sqrt(epoch + 1) is set by HashGammaHook.
"""
model = dict(
    type="SwinFpnHashCLR",
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
    head=dict(type="HashCLRHead", temperature=0.1, beta=1.0),
    backbone_init=None,
)
