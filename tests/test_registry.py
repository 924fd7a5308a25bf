"""The package's registries build its modules whatever default scope is current."""
from mmengine.registry import DefaultScope

import mmselfsup_ext.datasets.transforms  # noqa: F401  (registers transforms)
import mmselfsup_ext.models  # noqa: F401  (registers models)
from mmselfsup_ext.registry import MODELS, TRANSFORMS


def test_builds_under_a_foreign_default_scope():
    with DefaultScope.overwrite_default_scope("mmengine"):
        transform = TRANSFORMS.build(dict(type="LoadImage"))
        head = MODELS.build(dict(type="ContrastiveHead", temperature=0.2))
        assert DefaultScope.get_current_instance().scope_name == "mmengine"
    assert type(transform).__name__ == "LoadImage"
    assert head.temperature == 0.2


def test_scope_is_the_package():
    assert MODELS.scope == "mmselfsup_ext"
    assert TRANSFORMS.scope == "mmselfsup_ext"
