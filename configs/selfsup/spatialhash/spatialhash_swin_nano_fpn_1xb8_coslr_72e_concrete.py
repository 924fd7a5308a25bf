"""The CPU spatial hash trained for 72 epochs (10800 iterations), 12 times the 6-epoch recipe.

The shipped default model (``mmselfsup_ext/model_zoo/spatialhash_swin_nano_fpn_concrete``).

Everything else as ``spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete.py``; the cosine
decay and the gamma schedule stretch over 72 epochs. Output tag ``spatialhash64x8x8``.

Reproduce as the 6-epoch config, training this one instead.
"""
_base_ = ["./spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete.py"]

train_cfg = dict(max_epochs=72)
# Fixed by benchmarks/learned.py on the training-surface survey (pair-F1 there 0.911, with the
# overlap refined below a cell; 0.849 before, same rule), with alignments at relative scales
# 1.1 and 1.2 besides the shifts (shifts only: radius 16, T 68, 0.850).
spatial_vote_rule = dict(radius=16, threshold=59, scales=(1.1, 1.2))
