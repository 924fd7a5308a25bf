"""Installable package for self-supervised deep-hash deduplication of concrete images."""
from setuptools import find_packages, setup

setup(
    name="mmselfsup_ext",
    version="0.1.0",
    description=(
        "Self-supervised deep hash image deduplication for visual inspection of concrete"
    ),
    packages=find_packages(include=["mmselfsup_ext", "mmselfsup_ext.*"]),
    python_requires=">=3.10",
    license="Apache-2.0",
)
