"""Paper SimCLR baseline: the paper HashCLR setup without the hash relaxation (codes = sign of z).

Backbone, MIM initialisation, data, views and schedule are those of
``hashclr/hashclr_swin_tiny_fpn_2xb16_coslr_120e.py``: the two configs share every base but
the model's, so they compare the heads alone. Output tags ``simclr32`` ... ``simclr128``.
"""
_base_ = ["../_base_/models/swin-tiny-fpn_simclr.py", "../_base_/datasets/folder_simclr.py",
          "../_base_/schedules/adamw_coslr-120e.py", "../_base_/default_runtime.py"]
