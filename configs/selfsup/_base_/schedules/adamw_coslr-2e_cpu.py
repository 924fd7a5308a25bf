"""The paper schedule shrunk for CPU smoke runs: 1 warm-up epoch, cosine over the 2nd."""
_base_ = ["./adamw_coslr-800e.py"]

param_scheduler = [dict(type="LinearLR", start_factor=1 / 200, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
                   dict(type="CosineAnnealingLR", eta_min_ratio=1 / 20, by_epoch=True, begin=1,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=2)
auto_scale_lr = dict(base_batch_size=8)
