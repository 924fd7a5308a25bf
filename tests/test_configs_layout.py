"""The training configs: mmpretrain-style leaves over ``_base_``, chains at most 3 deep."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "selfsup"
LEAVES = sorted(p for p in CONFIGS.rglob("*.py") if "_base_" not in p.parts)


def _bases(path: Path) -> list[Path]:
    """The files ``path`` names in ``_base_`` (read from its source, not run)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in node.targets):
            value = ast.literal_eval(node.value)
            return [(path.parent / name).resolve() for name in ([value] if isinstance(value, str) else value)]
    return []


def _depth(path: Path) -> int:
    """Inheritance steps from ``path`` to its farthest base."""
    return max((1 + _depth(base) for base in _bases(path)), default=0)


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda p: p.stem)
def test_leaf_chains_are_at_most_three_deep_and_load(leaf):
    assert _depth(leaf) <= 3
    for base in _bases(leaf):
        # A leaf inherits bases, or (a longer run of a recipe) a leaf of its own family.
        assert "_base_" in base.parts or base.parent == leaf.parent, base
    assert "model" in Config.fromfile(str(leaf))


def test_every_base_is_used():
    used = {base for leaf in LEAVES for base in _bases(leaf)}
    used |= {b for base in list(used) for b in _bases(base)}
    used |= {b for base in list(used) for b in _bases(base)}
    bases = {p.resolve() for p in (CONFIGS / "_base_").rglob("*.py")}
    assert bases <= used, sorted(str(p.relative_to(CONFIGS)) for p in bases - used)
