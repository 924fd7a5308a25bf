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
from mmengine.registry import Registry

MODELS = Registry("model", parent=MMENGINE_MODELS, locations=["mmselfsup_ext.models"])
DATASETS = Registry("dataset", parent=MMENGINE_DATASETS, locations=["mmselfsup_ext.datasets"])
DATA_SAMPLERS = Registry(
    "data sampler", parent=MMENGINE_DATA_SAMPLERS, locations=["mmselfsup_ext.datasets"]
)
TRANSFORMS = Registry(
    "transform", parent=MMENGINE_TRANSFORMS, locations=["mmselfsup_ext.datasets.transforms"]
)
HOOKS = Registry("hook", parent=MMENGINE_HOOKS, locations=["mmselfsup_ext.engine.hooks"])
LOOPS = Registry("loop", parent=MMENGINE_LOOPS, locations=["mmselfsup_ext.engine"])
OPTIMIZERS = Registry("optimizer", parent=MMENGINE_OPTIMIZERS, locations=["mmselfsup_ext.engine"])
OPTIM_WRAPPERS = Registry(
    "optim wrapper", parent=MMENGINE_OPTIM_WRAPPERS, locations=["mmselfsup_ext.engine"]
)
PARAM_SCHEDULERS = Registry(
    "parameter scheduler", parent=MMENGINE_PARAM_SCHEDULERS, locations=["mmselfsup_ext.engine"]
)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    "optimizer wrapper constructor", parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
)
# Visualizers come from mmengine; the child registries let a config under this
# scope find them without "Failed to search registry" warnings.
VISUALIZERS = Registry("visualizer", parent=MMENGINE_VISUALIZERS)
VISBACKENDS = Registry("vis_backend", parent=MMENGINE_VISBACKENDS)
