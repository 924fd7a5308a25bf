"""The MIM schedule (``adamw_coslr-800e.py``) over 120 epochs (SwinFpnHashCLR, SimCLR).

The paper gives 120 epochs at batch 2 x 16; the optimiser (AdamW, lr 1e-4 for the total
batch of 32, SimMIM's decay exemptions and clipping) is inherited unchanged. The
scheduler list is restated because mmengine replaces lists instead of merging them.
"""
_base_ = ["./adamw_coslr-800e.py"]

lr = 1e-4
max_epochs = 120
warmup_epochs = 10

param_scheduler = [
    dict(type="LinearLR", start_factor=1 / 200, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=max_epochs - warmup_epochs, eta_min=lr / 20,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
