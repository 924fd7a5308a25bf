"""Paper-sized spatial hash: Swin-T + FPN at 256 px, 2 GPUs x 16, 120 epochs, dense correspondence.

The paper's SwinFpnHashCLR schedule and backbone (initialised from the SwinFpnMIM
checkpoint ``mim_checkpoint``), with the global GAP head replaced by one 64-bit code per
stride-16 cell and the photometric-only views by two overlapping crops whose geometry
is returned (``OverlapViews`` with ``view_geometry``). Output tags
``spatialhash64x<h>x<w>`` (not the paper's ``hashclr<bits>``). Train with::

    bash tools/dist_train.sh configs/selfsup/spatialhash/spatialhash_swin_tiny_fpn_2xb16_coslr_120e.py 2 \
        --cfg-options train_dataloader.dataset.data_root=DATA/
"""
_base_ = ["../_base_/models/swin-tiny-fpn_spatialhash.py", "../_base_/datasets/overlap_views.py",
          "../_base_/schedules/adamw_coslr-120e.py", "../_base_/default_runtime.py"]

# Encode at the training size: a whole shot then shows the surface at the scale of the
# training views (mmselfsup_ext.apis reads this as the default --img-size).
inference_img_size = 256
