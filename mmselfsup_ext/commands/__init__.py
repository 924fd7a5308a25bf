"""Console commands: the entry points ``pip install`` puts on the PATH.

``image-processing-deduplication`` (:mod:`.classical_dedup`) and
``swinfpn-hashclr-deduplication`` (:mod:`.deep_dedup`); the scripts of the same
names at the repository root are thin wrappers around the same ``main`` functions.
Importing this package imports neither torch nor a model.
"""
