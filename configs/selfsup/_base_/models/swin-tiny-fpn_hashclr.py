"""SwinFpnHashCLR: the SimCLR model (Swin-T + FPN, GAP + MLP 768-768-320) with a hash head.

Head: tanh(gamma z) relaxation; loss NT-Xent (temperature 0.1) on the L2-normalised
relaxed codes of two views plus beta * mean(1 - |b|) with beta = 1; gamma =
sqrt(epoch + 1) is set by HashGammaHook, which every hash model needs.
"""
_base_ = ["./swin-tiny-fpn_simclr.py"]

model = dict(type="SwinFpnHashCLR", head=dict(type="HashCLRHead", beta=1.0))
custom_hooks = [dict(type="HashGammaHook")]
