"""CPU-sized SwinFpnMIM: the ``nano`` SwinFpn at 128 px, batch 8, 2 epochs.

Same pipeline, mask (32 px tokens, ratio 0.6), decoder, loss and schedule shape as the
paper config; trains in minutes on 2 CPU cores. Its last checkpoint initialises
``hashclr/hashclr_swin_nano_fpn_1xb8_coslr_2e.py`` and ``simclr/simclr_swin_nano_fpn_1xb8_coslr_2e.py``.
"""
_base_ = ["../_base_/models/swin-nano-fpn_simmim.py", "../_base_/datasets/folder_simmim-128_cpu.py",
          "../_base_/schedules/adamw_coslr-2e_cpu.py", "../_base_/default_runtime.py"]

# Log every iteration for visible progress.
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
log_processor = dict(window_size=1)
