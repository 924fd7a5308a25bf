"""Plain SimCLR baseline on the concrete tiles, 6 epochs (issue 12 comparison).

The paper-faithful HashCLR views and schedule of
``hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_6e_concrete.py`` with the plain NT-Xent head
(codes = sign(z); tags ``simclr32`` ... ``simclr128``). Command::

    python tools/train.py configs/selfsup/simclr/simclr_swin_small-cpu_fpn_1xb8_coslr_6e_concrete.py
"""
_base_ = ["../hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_6e_concrete.py"]

model = dict(type="SimCLR", head=dict(_delete_=True, type="ContrastiveHead", temperature=0.1))
# SimCLR has no gamma: no HashGammaHook.
custom_hooks = []
