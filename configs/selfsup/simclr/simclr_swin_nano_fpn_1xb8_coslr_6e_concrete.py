"""Plain SimCLR baseline on the concrete tiles, 6 epochs (issue 12 comparison).

``simclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py`` trained 900 iterations, as its HashCLR
counterpart ``hashclr/hashclr_swin_nano_fpn_1xb8_coslr_6e_concrete.py`` (tags ``simclr32``
... ``simclr128``). Command::

    python tools/train.py configs/selfsup/simclr/simclr_swin_nano_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = ["./simclr_swin_nano_fpn_1xb8_coslr_1e_concrete.py"]

train_cfg = dict(max_epochs=6)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
