"""Safe loading of mmengine checkpoints under torch's ``weights_only=True`` default.

Since torch 2.6, ``torch.load`` only rebuilds tensors, containers and allow-listed
globals. Checkpoints written by mmengine 0.10's ``Runner`` also hold its message hub
(``HistoryBuffer`` objects with numpy arrays and, pickled by reference, the buffer's
statistics methods), so neither :func:`load_checkpoint_file` nor mmengine's own
``Runner.resume`` / ``load_checkpoint`` could read them. Importing this module
allow-lists exactly those globals, process-wide, so both work with no environment
variable and without falling back to ``weights_only=False`` (which would execute
arbitrary code from a file).

The one function-valued global, ``builtins.getattr``, is *not* allowed as such: it
is replaced by :func:`_history_buffer_getattr`, which only resolves HistoryBuffer's
registered statistics methods and refuses everything else.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from torch import nn

__all__ = [
    "CheckpointError",
    "MMENGINE_SAFE_GLOBALS",
    "check_state_dict_fits",
    "load_checkpoint_file",
    "load_model_weights",
    "state_dict_from_checkpoint",
]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model; one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


# HistoryBuffer registers these four in every instance's __init__; custom ones via
# HistoryBuffer.register_statistics land in the same class-level dict.
_BUILTIN_STATISTICS = frozenset({"min", "max", "current", "mean"})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods (see module docstring)."""
    allowed = _BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f"refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only "
        "HistoryBuffer statistics methods are allowed"
    )


def _numpy_safe_globals() -> list:
    """The numpy globals that arrays and scalars in mmengine's message hub pickle to."""
    multiarray = np._core.multiarray
    entries: list = [np.ndarray, np.dtype]
    # numpy 1.x wrote ``numpy.core``; accept checkpoints from either major version.
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        entries.append((multiarray._reconstruct, f"{module}._reconstruct"))
        entries.append((multiarray.scalar, f"{module}.scalar"))
    # Numeric dtype classes only: object arrays are not needed and not allowed.
    entries.extend(type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG")
    return entries


#: Globals allow-listed for ``torch.load(weights_only=True)`` when this module is imported.
MMENGINE_SAFE_GLOBALS: list = [
    HistoryBuffer,
    (_history_buffer_getattr, "builtins.getattr"),
    *_numpy_safe_globals(),
]
torch.serialization.add_safe_globals(MMENGINE_SAFE_GLOBALS)


# Lines of torch's weights_only errors that are advice, not the cause. The first one
# even suggests weights_only=False, which would run a malicious file's code.
_TORCH_ADVICE = ("Weights only load failed", "Check the documentation of torch.load")


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    marker = "WeightsUnpickler error:"
    # torch's weights_only errors bury the cause after a long preamble; a global from
    # a blocked module (e.g. ``posix.system``) is named on a line without the marker.
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith(_TORCH_ADVICE)]
    return (causes or lines or [type(exc).__name__])[0]


def _is_refusal(exc: pickle.UnpicklingError) -> bool:
    """True if the weights-only unpickler refused an object (rather than met garbage)."""
    text = str(exc)
    return any(word in text for word in ("GLOBAL", "global", "allowlisted", "refusing"))


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint file safely (``weights_only=True``).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pth`` file written by ``torch.save`` (e.g. by mmengine's CheckpointHook).
    map_location : str, torch.device or callable
        Passed to :func:`torch.load`.

    Returns
    -------
    dict
        The checkpoint, e.g. ``{"meta", "state_dict", "optimizer", "message_hub", ...}``.

    Raises
    ------
    CheckpointError
        If the file is missing, not a torch checkpoint, truncated, holds objects that
        are not safe to load, or is not a dict.

    Examples
    --------
    >>> ckpt = load_checkpoint_file("work_dirs/simmim/epoch_800.pth")  # doctest: +SKIP
    >>> sorted(ckpt)[:3]  # doctest: +SKIP
    ['message_hub', 'meta', 'optimizer']
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if _is_refusal(exc):
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds objects that cannot be loaded safely: {_one_line(exc)}"
            ) from None
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a readable PyTorch checkpoint (corrupt or "
            f"truncated?): {_one_line(exc)}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, TypeError,
            AssertionError, zipfile.BadZipFile) as exc:
        # Garbage that is not a zip file reaches the legacy unpickler, which fails with
        # whatever the bytes happen to trigger (e.g. IndexError on an empty mark stack,
        # or AssertionError from torch's persistent_load, as benchmarks/fuzz_readers.py
        # found).
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a readable PyTorch checkpoint (corrupt or "
            f"truncated?): {_one_line(exc)}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds a {type(checkpoint).__name__}, expected a dict"
        )
    return checkpoint


def state_dict_from_checkpoint(checkpoint: Mapping, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Return the model weights of a loaded checkpoint.

    Parameters
    ----------
    checkpoint : Mapping
        As returned by :func:`load_checkpoint_file`: either mmengine's layout (weights
        under ``"state_dict"``) or a bare state dict.
    source : str
        Name of the checkpoint for error messages (e.g. its path).

    Returns
    -------
    dict of str to torch.Tensor

    Raises
    ------
    CheckpointError
        If no tensor-valued state dict is found.
    """
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(f"{source} holds no model state_dict (a mapping of names to tensors)")
    # DDP-saved weights carry a "module." prefix; the unwrapped model has none.
    if all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    return dict(state)


def check_state_dict_fits(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Raise unless ``state_dict`` has exactly the model's keys and shapes.

    Parameters
    ----------
    model : torch.nn.Module
        The (unwrapped) model that is about to load the weights.
    state_dict : Mapping of str to torch.Tensor
        Weights from :func:`state_dict_from_checkpoint`.
    source : str
        Name of the checkpoint for the error message.

    Raises
    ------
    CheckpointError
        One line naming the number of missing, unexpected and mis-shaped entries,
        with an example of each: the checkpoint is of another model or config.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [
        k for k in expected
        if k in state_dict and tuple(state_dict[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or mis_shaped):
        return
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[0]!r})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r})")
    if mis_shaped:
        key = mis_shaped[0]
        problems.append(
            f"{len(mis_shaped)} with another shape (e.g. {key!r}: "
            f"{tuple(state_dict[key].shape)} vs {tuple(expected[key].shape)})"
        )
    raise CheckpointError(
        f"{source} does not fit the model {type(model).__name__} of this config: "
        f"weights {', '.join(problems)}"
    )


def load_model_weights(model: nn.Module, path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint's weights into ``model`` after checking they fit exactly.

    Parameters
    ----------
    model : torch.nn.Module
        The model built from the checkpoint's config (unwrapped).
    path : str or os.PathLike
        Checkpoint file.
    map_location : str, torch.device or callable
        Passed to :func:`torch.load`.

    Returns
    -------
    dict
        The whole checkpoint (e.g. for its ``meta``).

    Raises
    ------
    CheckpointError
        Missing/corrupt file, or weights of another model (one-line message).
    """
    checkpoint = load_checkpoint_file(path, map_location=map_location)
    source = f"checkpoint {str(path)!r}"
    state = state_dict_from_checkpoint(checkpoint, source)
    check_state_dict_fits(model, state, source)
    model.load_state_dict(state, strict=True)
    return checkpoint
