"""Stage 2 of the shipped default model: overlap-aware SwinFpnHashCLR on the concrete tiles.

Same model and loss as the paper's HashCLR (NT-Xent tau 0.1 on tanh(gamma z) + quantization
loss, gamma = sqrt(epoch+1)), but the two views of a tile are two *overlapping crops*
(overlap of the nominal boxes in [0.55, 1], each rotated by up to 5 degrees and scaled by up
to 10 %: ``OverlapViews``) instead of two photometric copies of one frame, and the
photometric jitter is that of re-exposed inspection shots (brightness/contrast +-40 %,
little colour change, blur) rather than SimCLR's (0.8, 0.8, 0.8, 0.2), which on grey
concrete spends a short training run on learning colour invariance (measured: with it the
contrastive loss was still above chance after 150 iterations). Inspection duplicates are
exactly such pairs of shifted, re-posed, re-exposed shots. The tile is mirrored (p 0.5)
once, before cropping, so both views share the mirror: a flight never mirrors a shot.
Each image is standardised by its own mean and standard deviation
(``PerImageDataPreprocessor``) instead of ImageNet's, so codes ignore exposure gain and
contrast by construction (measured: with the fixed normalisation a +-30 % brightness change
moved most codes past the duplicate threshold).

"small-cpu" SwinFpn at 128 px, batch 8, 2 epochs over the 1200 tiles of
``tools/make_training_data.py`` (300 iterations), AdamW lr 1e-3 (30-iteration warm-up,
cosine to lr/20), backbone initialised from the 1-epoch CPU SwinFpnMIM.

Reproduce (see mmselfsup_ext/model_zoo/README.md)::

    python tools/train.py configs/selfsup/simmim/simmim_swin_small-cpu_fpn_1xb8-coslr-1e_concrete.py
    python tools/train.py configs/selfsup/hashclr/hashclr-overlap_swin_small-cpu_fpn_1xb8_coslr_2e_concrete.py
"""
_base_ = ["./hashclr_swin_small-cpu_fpn_1xb8_coslr_2e.py"]

data_root = "data/concrete/"
img_size = 128
# Encode at the training size: the 128 px model then sees a whole shot at the scale of
# its training views (mmselfsup_ext.apis reads this as the default --img-size).
inference_img_size = 128
mim_checkpoint = "work_dirs/simmim_swin_small-cpu_fpn_1xb8-coslr-1e_concrete/epoch_1.pth"
lr = 1e-3
max_epochs = 2
warmup_iters = 30

model = dict(
    data_preprocessor=dict(_delete_=True, type="PerImageDataPreprocessor"),
    backbone_init=mim_checkpoint,
)
view_pipeline = [
    dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.02, prob=0.8),
    dict(type="RandomGaussianBlur", sigma_min=0.1, sigma_max=2.0, prob=0.5),
]
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="RandomFlip", prob=0.5),
    dict(type="OverlapViews", size=img_size, crop_scale=(0.45, 0.7), ratio=(1.0, 1.35), min_overlap=0.55,
         max_rotation=5.0, max_scale=0.1, transforms=view_pipeline),
    dict(type="PackSelfSupInputs"),
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="CosineAnnealingLR", T_max=max_epochs, eta_min=lr / 20, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
