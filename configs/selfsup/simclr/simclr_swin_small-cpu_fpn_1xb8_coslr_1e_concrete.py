"""Plain SimCLR baseline on the concrete tiles: NT-Xent on z, codes = sign(z), no hash relaxation.

The paper's comparison: the same photometric-only views, backbone, neck and schedule as
``hashclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py`` (1 epoch, for lack of CPU time);
the head is plain NT-Xent, so the output tags are ``simclr32`` ... ``simclr128``.

Reproduce::

    python tools/train.py configs/selfsup/simclr/simclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py
"""
_base_ = ["../hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_1e_concrete.py"]

model = dict(type="SimCLR", head=dict(_delete_=True, type="ContrastiveHead", temperature=0.1))
# SimCLR has no gamma: no HashGammaHook.
custom_hooks = []
