"""Paper SimCLR baseline: the paper HashCLR setup without the hash relaxation (codes = sign of z).

Everything (backbone, MIM initialisation, data, views, schedule) is inherited from
``hashclr/hashclr_swin_tiny_fpn_2xb16_coslr_120e.py``; only the algorithm and its head
differ, so the two configs compare the heads alone. Output tags ``simclr32`` ... ``simclr128``.
"""
_base_ = ["../hashclr/hashclr_swin_tiny_fpn_2xb16_coslr_120e.py"]

model = dict(type="SimCLR", head=dict(_delete_=True, type="ContrastiveHead", temperature=0.1))
# SimCLR has no gamma: no HashGammaHook.
custom_hooks = []
