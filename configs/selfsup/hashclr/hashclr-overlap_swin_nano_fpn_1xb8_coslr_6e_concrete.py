"""The shipped ``hashclr`` recipe (overlap-aware SwinFpnHashCLR) trained 6 epochs instead of 2.

An ablation of ``benchmarks/README_quality.md`` (tag ``hashclr-overlap-long``): 900
iterations over the 1200 tiles of ``tools/make_training_data.py``; everything else is
inherited from the 2-epoch config. Command::

    python tools/train.py configs/selfsup/hashclr/hashclr-overlap_swin_nano_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = ["./hashclr-overlap_swin_nano_fpn_1xb8_coslr_2e_concrete.py"]

train_cfg = dict(max_epochs=6)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
