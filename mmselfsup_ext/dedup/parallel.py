"""Order-preserving parallel map with a progress bar, shared by encoding and scoring."""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from tqdm import tqdm

__all__ = ["default_workers", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """CPUs this process may run on (respects affinity masks and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, in the parent, which then terminates the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ordered_map(func: Callable[[T], R], items: Sequence[T], workers: int = 1,
                progress: bool = True, desc: str | None = None) -> Iterator[R]:
    """Yield ``func(item)`` for every item, in input order.

    Parameters
    ----------
    func : callable
        Picklable (module-level) function when ``workers > 1``.
    items : sequence
        Inputs.
    workers : int, default 1
        Processes; ``1`` runs in this process (no pickling, easy to debug).
    progress : bool, default True
        Show a tqdm bar on stderr.
    desc : str, optional
        Progress bar label.

    Yields
    ------
    object
        Results aligned with ``items``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    workers = min(workers, max(1, len(items)))
    with tqdm(total=len(items), desc=desc, unit="img", file=sys.stderr,
              disable=not progress, dynamic_ncols=True) as bar:
        if workers == 1:
            for item in items:
                yield func(item)
                bar.update()
            return
        # Chunks amortise inter-process overhead but stay small enough that the
        # progress bar moves and the last chunk does not leave cores idle.
        chunksize = max(1, min(64, len(items) // (workers * 8)))
        with multiprocessing.Pool(workers, initializer=_ignore_sigint) as pool:
            for result in pool.imap(func, items, chunksize=chunksize):
                yield result
                bar.update()
