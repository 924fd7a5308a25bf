"""Child registries of mmengine's root registries.

Every buildable piece of this project (models, datasets, transforms, hooks, ...) is
registered here, so configs build it by ``type=`` exactly as in mmpretrain. The
``locations`` tell mmengine which modules to import when a registry is first used, so
``MODELS.build(dict(type='SwinFpnHashCLR', ...))`` works without manual imports.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import DefaultScope, Registry


class ScopedRegistry(Registry):
    """A registry whose builds always resolve ``type=`` names in this package's scope.

    mmengine resolves names through the current ``DefaultScope``; a scope left current
    by a runner of another library (e.g. ``mmengine``) would otherwise hide this
    package's modules. Parent registries are still searched, so mmengine's own
    optimizers, hooks and loops build as before.
    """

    def build(self, cfg, *args, **kwargs):
        with DefaultScope.overwrite_default_scope(self.scope):
            return super().build(cfg, *args, **kwargs)


MODELS = ScopedRegistry("model", parent=MMENGINE_MODELS, locations=["mmselfsup_ext.models"])
DATASETS = ScopedRegistry("dataset", parent=MMENGINE_DATASETS, locations=["mmselfsup_ext.datasets"])
DATA_SAMPLERS = ScopedRegistry(
    "data sampler", parent=MMENGINE_DATA_SAMPLERS, locations=["mmselfsup_ext.datasets"]
)
TRANSFORMS = ScopedRegistry(
    "transform", parent=MMENGINE_TRANSFORMS, locations=["mmselfsup_ext.datasets.transforms"]
)
HOOKS = ScopedRegistry("hook", parent=MMENGINE_HOOKS, locations=["mmselfsup_ext.engine.hooks"])
LOOPS = ScopedRegistry("loop", parent=MMENGINE_LOOPS, locations=["mmselfsup_ext.engine"])
OPTIMIZERS = ScopedRegistry("optimizer", parent=MMENGINE_OPTIMIZERS, locations=["mmselfsup_ext.engine"])
OPTIM_WRAPPERS = ScopedRegistry(
    "optim wrapper", parent=MMENGINE_OPTIM_WRAPPERS, locations=["mmselfsup_ext.engine"]
)
PARAM_SCHEDULERS = ScopedRegistry(
    "parameter scheduler", parent=MMENGINE_PARAM_SCHEDULERS, locations=["mmselfsup_ext.engine"]
)
OPTIM_WRAPPER_CONSTRUCTORS = ScopedRegistry(
    "optimizer wrapper constructor", parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
)
# Visualizers come from mmengine; the child registries let a config under this
# scope find them without "Failed to search registry" warnings.
VISUALIZERS = ScopedRegistry("visualizer", parent=MMENGINE_VISUALIZERS)
VISBACKENDS = ScopedRegistry("vis_backend", parent=MMENGINE_VISBACKENDS)
