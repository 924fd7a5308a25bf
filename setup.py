"""Installable package for self-supervised deep-hash deduplication of concrete images.

``pip install .`` puts two commands on the PATH (named after the repository's two
scripts) and ships the default model as package data, so both run from any folder.
"""
from setuptools import find_packages, setup

setup(
    name="mmselfsup_ext",
    version="0.1.0",
    description=(
        "Self-supervised deep hash image deduplication for visual inspection of concrete"
    ),
    packages=find_packages(include=["mmselfsup_ext", "mmselfsup_ext.*"]),
    package_data={"mmselfsup_ext": ["model_zoo/*.py", "model_zoo/*.pth", "model_zoo/*.md"]},
    entry_points={
        "console_scripts": [
            "image-processing-deduplication=mmselfsup_ext.commands.classical_dedup:main",
            "swinfpn-hashclr-deduplication=mmselfsup_ext.commands.deep_dedup:main",
        ],
    },
    python_requires=">=3.10",
    license="Apache-2.0",
)
