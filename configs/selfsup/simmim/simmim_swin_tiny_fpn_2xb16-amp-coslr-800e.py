"""Paper SwinFpnMIM: SimMIM pre-training of Swin-T + FPN at 256 px, 2 GPUs x 16, AMP, 800 epochs.

    bash tools/dist_train.sh configs/selfsup/simmim/simmim_swin_tiny_fpn_2xb16-amp-coslr-800e.py 2 \
        --cfg-options train_dataloader.dataset.data_root=DIR
"""
_base_ = ["../_base_/models/swin-tiny-fpn_simmim.py", "../_base_/datasets/folder_simmim.py",
          "../_base_/schedules/adamw_coslr-800e.py", "../_base_/default_runtime.py"]

optim_wrapper = dict(type="AmpOptimWrapper", loss_scale="dynamic")
default_hooks = dict(checkpoint=dict(interval=50))
