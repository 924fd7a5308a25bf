"""Paper-faithful SwinFpnHashCLR on the concrete tiles, 6 epochs (issue 12 comparison).

``hashclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py`` (photometric-only views, ImageNet
normalisation, NT-Xent on tanh(gamma z) + quantization) trained 900 iterations like every
other model of ``benchmarks/README_learned.md``. Command::

    python tools/train.py configs/selfsup/hashclr/hashclr_swin_nano_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = ["./hashclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py"]

train_cfg = dict(max_epochs=6)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
