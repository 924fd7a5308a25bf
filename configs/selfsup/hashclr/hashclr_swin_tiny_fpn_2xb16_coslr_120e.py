"""Paper SwinFpnHashCLR: contrastive hashing of Swin-T + FPN at 256 px, 2 GPUs x 16, 120 epochs.

The backbone starts from the SwinFpnMIM checkpoint ``mim_checkpoint`` (where the paper's
MIM config saves its last epoch); point elsewhere with
``--cfg-options model.backbone_init=PATH``. HashGammaHook sets gamma = sqrt(epoch + 1).
"""
_base_ = ["../_base_/models/swin-tiny-fpn_hashclr.py", "../_base_/datasets/folder_simclr.py",
          "../_base_/schedules/adamw_coslr-120e.py", "../_base_/default_runtime.py"]
