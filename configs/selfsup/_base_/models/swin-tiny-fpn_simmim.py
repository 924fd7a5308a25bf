"""SwinFpnMIM: Swin-T + FPN with a SimMIM mask token, 1x1 conv + PixelShuffle decoder, L1 loss."""
model = dict(
    type="SwinFpnMIM",
    data_preprocessor=dict(type="SelfSupDataPreprocessor", mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=False),
    backbone=dict(type="SwinFpn", arch="tiny", img_size=256, window_size=6, patch_size=4, drop_path_rate=0.1,
                  dropout=0.1, use_mask_token=True),
    neck=dict(type="SimMIMLinearDecoder", in_channels=768, encoder_stride=32),
    head=dict(type="SimMIMHead", patch_size=4),
)
