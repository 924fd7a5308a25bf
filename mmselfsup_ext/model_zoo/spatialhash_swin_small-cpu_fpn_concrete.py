auto_scale_lr = dict(base_batch_size=8, enable=False)
custom_hooks = [
    dict(type='HashGammaHook'),
]
data_root = 'data/concrete/'
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1, type='CheckpointHook'),
    logger=dict(interval=10, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    runtime_info=dict(type='RuntimeInfoHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
default_scope = 'mmselfsup_ext'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
img_size = 128
inference_img_size = 128
launcher = 'none'
load_from = None
log_level = 'INFO'
log_processor = dict(window_size=10)
lr = 0.001
max_epochs = 72
mim_checkpoint = 'work_dirs/simmim_swin_small-cpu_fpn_1xb8-coslr-1e_concrete/epoch_1.pth'
model = dict(
    backbone=dict(
        arch='small-cpu',
        drop_path_rate=0.1,
        dropout=0.1,
        img_size=128,
        out_level=2,
        patch_size=4,
        type='SwinFpn',
        window_size=4),
    backbone_init=
    'work_dirs/simmim_swin_small-cpu_fpn_1xb8-coslr-1e_concrete/epoch_1.pth',
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
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0),
    optimizer=dict(
        betas=(
            0.9,
            0.999,
        ),
        eps=1e-08,
        lr=0.001,
        type='AdamW',
        weight_decay=0.05),
    paramwise_cfg=dict(
        bias_decay_mult=0.0,
        custom_keys=dict(
            mask_token=dict(decay_mult=0.0),
            relative_position_bias_table=dict(decay_mult=0.0)),
        norm_decay_mult=0.0),
    type='OptimWrapper')
param_scheduler = [
    dict(begin=0, by_epoch=False, end=30, start_factor=0.005, type='LinearLR'),
    dict(
        T_max=72,
        begin=0,
        by_epoch=True,
        convert_to_iter_based=True,
        end=72,
        eta_min=5e-05,
        type='CosineAnnealingLR'),
]
randomness = dict(deterministic=False, seed=0)
resume = False
spatial_vote_rule = dict(
    radius=16, scales=(
        1.1,
        1.2,
    ), threshold=59)
train_cfg = dict(max_epochs=72, type='EpochBasedTrainLoop')
train_dataloader = dict(
    batch_size=8,
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        data_root='data/concrete/',
        pipeline=[
            dict(type='LoadImage'),
            dict(prob=0.5, type='RandomFlip'),
            dict(
                crop_scale=(
                    0.45,
                    0.7,
                ),
                max_rotation=5.0,
                max_scale=0.1,
                min_overlap=0.3,
                ratio=(
                    1.0,
                    1.35,
                ),
                size=128,
                transforms=[
                    dict(
                        brightness=0.4,
                        contrast=0.4,
                        hue=0.02,
                        prob=0.8,
                        saturation=0.2,
                        type='ColorJitter'),
                    dict(
                        prob=0.5,
                        sigma_max=2.0,
                        sigma_min=0.1,
                        type='RandomGaussianBlur'),
                ],
                type='OverlapViews'),
            dict(
                meta_keys=(
                    'img_path',
                    'view_geometry',
                ),
                type='PackSelfSupInputs'),
        ],
        type='ImageFolderDataset'),
    drop_last=True,
    num_workers=1,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(shuffle=True, type='DefaultSampler'))
train_pipeline = [
    dict(type='LoadImage'),
    dict(prob=0.5, type='RandomFlip'),
    dict(
        crop_scale=(
            0.45,
            0.7,
        ),
        max_rotation=5.0,
        max_scale=0.1,
        min_overlap=0.3,
        ratio=(
            1.0,
            1.35,
        ),
        size=128,
        transforms=[
            dict(
                brightness=0.4,
                contrast=0.4,
                hue=0.02,
                prob=0.8,
                saturation=0.2,
                type='ColorJitter'),
            dict(
                prob=0.5,
                sigma_max=2.0,
                sigma_min=0.1,
                type='RandomGaussianBlur'),
        ],
        type='OverlapViews'),
    dict(meta_keys=(
        'img_path',
        'view_geometry',
    ), type='PackSelfSupInputs'),
]
view_pipeline = [
    dict(
        brightness=0.4,
        contrast=0.4,
        hue=0.02,
        prob=0.8,
        saturation=0.2,
        type='ColorJitter'),
    dict(prob=0.5, sigma_max=2.0, sigma_min=0.1, type='RandomGaussianBlur'),
]
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    type='Visualizer', vis_backends=[
        dict(type='LocalVisBackend'),
    ])
warmup_epochs = 1
warmup_iters = 30
work_dir = './work_dirs/spatialhash_swin_small-cpu_fpn_1xb8_coslr_72e_concrete'
