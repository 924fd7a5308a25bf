"""CPU-sized SimCLR baseline: ``hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_2e.py`` with
the plain NT-Xent head (codes = sign of z) instead of the hash relaxation.
"""
_base_ = ["../hashclr/hashclr_swin_small-cpu_fpn_1xb8_coslr_2e.py"]

model = dict(type="SimCLR", head=dict(_delete_=True, type="ContrastiveHead", temperature=0.1))
# SimCLR has no gamma: no HashGammaHook.
custom_hooks = []
