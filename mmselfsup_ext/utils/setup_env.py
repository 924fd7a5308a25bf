"""Registration of every module of the package with mmengine's registries."""
import importlib


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every registering module and make ``mmselfsup_ext`` the default scope.

    Parameters
    ----------
    init_default_scope : bool
        If True, set ``mmselfsup_ext`` as mmengine's default registry scope so that
        ``type='SwinFpn'`` in a config resolves to this package's registries.
    """
    for module in (
        "mmselfsup_ext.datasets",
        "mmselfsup_ext.datasets.transforms",
        "mmselfsup_ext.models",
        "mmselfsup_ext.engine",
        "mmselfsup_ext.engine.hooks",
    ):
        importlib.import_module(module)
    if init_default_scope:
        from mmengine.registry import DefaultScope

        if DefaultScope.get_current_instance() is None or not DefaultScope.check_instance_created(
            "mmselfsup_ext"
        ):
            DefaultScope.get_instance("mmselfsup_ext", scope_name="mmselfsup_ext")
