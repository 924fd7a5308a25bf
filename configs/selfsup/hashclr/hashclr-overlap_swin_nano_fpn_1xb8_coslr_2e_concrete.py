"""Stage 2 of the shipped ``hashclr`` model: overlap-aware SwinFpnHashCLR on the concrete tiles.

Same model and loss as the paper's HashCLR (NT-Xent tau 0.1 on tanh(gamma z) + quantization
loss, gamma = sqrt(epoch+1)), but the two views of a tile are two *overlapping crops*
(overlap of the nominal boxes in [0.55, 1], each rotated by up to 5 degrees and scaled by up
to 10 %: ``OverlapViews``) instead of two photometric copies of one frame, and the
photometric jitter is that of re-exposed inspection shots (brightness/contrast +-40 %,
little colour change, blur) rather than SimCLR's (0.8, 0.8, 0.8, 0.2), which on grey
concrete spends a short training run on learning colour invariance (measured: with it the
contrastive loss was still above chance after 150 iterations). Inspection duplicates are
exactly such pairs of shifted, re-posed, re-exposed shots. Each image is standardised by
its own mean and standard deviation (``PerImageDataPreprocessor``) instead of ImageNet's,
so codes ignore exposure gain and contrast by construction (measured: with the fixed
normalisation a +-30 % brightness change moved most codes past the duplicate threshold).

``nano`` SwinFpn at 128 px, batch 8, 2 epochs over the 1200 tiles of
``tools/make_training_data.py`` (300 iterations), AdamW lr 1e-3 (30-iteration warm-up,
cosine to lr/20), backbone initialised from the 1-epoch CPU SwinFpnMIM.

Reproduce (see mmselfsup_ext/model_zoo/README.md)::

    python tools/train.py configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-1e_concrete.py
    python tools/train.py configs/selfsup/hashclr/hashclr-overlap_swin_nano_fpn_1xb8_coslr_2e_concrete.py
"""
_base_ = ["../_base_/models/swin-nano-fpn_hashclr.py", "../_base_/datasets/concrete_overlap-views-128_cpu.py",
          "../_base_/schedules/adamw_warmup-30it_coslr_cpu.py", "../_base_/default_runtime_cpu.py"]

# Encode at the training size: the 128 px model then sees a whole shot at the scale of
# its training views (mmselfsup_ext.apis reads this as the default --img-size).
inference_img_size = 128
model = dict(data_preprocessor=dict(_delete_=True, type="PerImageDataPreprocessor"))
train_dataloader = dict(dataset=dict(pipeline={{_base_.global_pipeline}}))
train_cfg = dict(max_epochs=2)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
