#!/usr/bin/env python3
"""Deduplicate a folder with classical perceptual hashes (aHash, dHash, pHash, wHash).

The same program as the installed command ``image-processing-deduplication``
(:mod:`mmselfsup_ext.commands.classical_dedup`); ``--help`` lists the options.
"""
import sys

from mmselfsup_ext.commands.classical_dedup import main

if __name__ == "__main__":
    sys.exit(main())
