#!/usr/bin/env python3
"""Deduplicate a folder with learned SwinFpnHashCLR codes ([CONFIG --checkpoint CKPT] IMAGE_DIR).

The same program as the installed command ``swinfpn-hashclr-deduplication``
(:mod:`mmselfsup_ext.commands.deep_dedup`); ``--help`` lists the options. Runs under
``torchrun --nproc-per-node N`` to encode on several processes.
"""
import sys

from mmselfsup_ext.commands.deep_dedup import main

if __name__ == "__main__":
    sys.exit(main())
