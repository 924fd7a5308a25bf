# Written by tools/publish_model.py: what inference reads of the training config, which the
# .pth beside this file embeds in full (meta['cfg']).
inference_img_size = 128
model = dict(
    backbone=dict(
        arch='nano',
        drop_path_rate=0.1,
        dropout=0.1,
        img_size=128,
        out_level=2,
        patch_size=4,
        type='SwinFpn',
        window_size=4),
    data_preprocessor=dict(type='PerImageDataPreprocessor'),
    head=dict(
        beta=1.0,
        decorrelation=5.0,
        neutral_radius=1.5,
        temperature=0.1,
        type='SpatialHashHead'),
    neck=dict(
        hid_channels=128,
        in_channels=128,
        out_channels=64,
        type='ConvProjectionNeck'),
    type='SwinFpnSpatialHash')
spatial_vote_rule = dict(
    radius=16, scales=(
        1.1,
        1.2,
    ), threshold=59)
