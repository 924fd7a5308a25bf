"""The MIM schedule (``adamw_coslr-800e.py``) over 120 epochs (SwinFpnHashCLR, SimCLR).

The paper gives 120 epochs at batch 2 x 16; the optimiser (AdamW, lr 1e-4 for the total
batch of 32, SimMIM's decay exemptions and clipping), the 10-epoch warm-up and the cosine
to lr / 20 are inherited unchanged.
"""
_base_ = ["./adamw_coslr-800e.py"]

train_cfg = dict(max_epochs=120)
