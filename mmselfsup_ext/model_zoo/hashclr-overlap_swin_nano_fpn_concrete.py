# Written by tools/publish_model.py: what inference reads of the training config, which the
# .pth beside this file embeds in full (meta['cfg']).
inference_img_size = 128
model = dict(
    backbone=dict(
        arch='nano',
        drop_path_rate=0.1,
        dropout=0.1,
        img_size=128,
        patch_size=4,
        type='SwinFpn',
        window_size=4),
    data_preprocessor=dict(type='PerImageDataPreprocessor'),
    head=dict(beta=1.0, temperature=0.1, type='HashCLRHead'),
    neck=dict(
        hid_channels=128,
        in_channels=128,
        out_channels=320,
        type='NonLinearNeck'),
    type='SwinFpnHashCLR')
