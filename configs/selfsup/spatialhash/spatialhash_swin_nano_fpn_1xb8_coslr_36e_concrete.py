"""The CPU spatial hash of ``spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete.py`` for 36 epochs.

5400 iterations, 6 times the 6-epoch recipe, everything else inherited (the cosine decay
and the gamma schedule stretch over 36 epochs); the shipped default before the 72-epoch
model. Output tag ``spatialhash64x8x8``; reproduce as the 6-epoch config.
"""
_base_ = ["./spatialhash_swin_nano_fpn_1xb8_coslr_6e_concrete.py"]

train_cfg = dict(max_epochs=36)
# Fixed by benchmarks/learned.py on the training-surface survey with the overlap refined below a
# cell and alignments at relative scales 1.1 and 1.2 besides the shifts: pair-F1 there 0.882
# (shifts only: radius 16, T 62, 0.818). The 72-epoch model replaced this one as the default.
spatial_vote_rule = dict(radius=16, threshold=55, scales=(1.1, 1.2))
