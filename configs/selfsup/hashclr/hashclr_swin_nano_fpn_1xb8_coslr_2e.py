"""CPU-sized SwinFpnHashCLR: the ``nano`` SwinFpn at 128 px, batch 8, 2 epochs, the paper's views.

Same views, neck, head and schedule shape as the paper config; trains in minutes on 2
CPU cores. The backbone starts from the CPU SwinFpnMIM smoke run's last checkpoint
(``simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py``; train it first or set ``model.backbone_init``).
"""
_base_ = ["../_base_/models/swin-nano-fpn_hashclr.py", "../_base_/datasets/folder_simclr-128_cpu.py",
          "../_base_/schedules/adamw_coslr-2e_cpu.py", "../_base_/default_runtime.py"]

model = dict(backbone_init="work_dirs/simmim_swin_nano_fpn_1xb8-coslr-2e/epoch_2.pth")
# Log every iteration for visible progress.
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
log_processor = dict(window_size=1)
