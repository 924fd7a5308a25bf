"""Encode a file list with several processes launched by ``torchrun``.

Rank 0 runs the whole deduplication (discovery, the encodings cache, pairing,
writing the outputs); every other rank only encodes. Each time rank 0 encodes a
list of paths, :class:`DistributedEncoder` broadcasts the list, every rank encodes
one contiguous shard with its own copy of the wrapped encoder, and rank 0 gathers
the shards and concatenates them, which restores the input order exactly.

A run can shard several encoders (the codes, and with ``--verify`` the keypoint
features): each has a role name, every request names the role, and a serving rank
builds that role's encoder on its first request. The features' encoder also shards
the geometric verification (:meth:`DistributedEncoder.verify_pairs`): rank 0 scatters
contiguous slices of the candidate pairs, each with the feature rows of the images
it names, every rank matches its slice, and rank 0 concatenates the results in rank
order, which is the pairs' order; each pair is matched as in one process, so the
outputs are the same bytes. Keypoint retrieval is sharded the same way: rank 0
broadcasts the descriptor index once and scatters slices of the query images
(:meth:`DistributedEncoder.surfaced_pairs`), then slices of the surfaced pairs with
the descriptors they read for exact scoring (:meth:`DistributedEncoder.retrieval_votes`).

Why rank 0 leads and the others serve, rather than every rank running the same
script: the pipeline's :class:`~mmselfsup_ext.dedup.cache.CachedEncoder` encodes
in chunks sized by each process's own speed, so ranks running it independently
would issue different sequences of collectives and deadlock; and only one process
may write ``--out``. Serving requests from rank 0 needs no change to the pipeline::

    def main(argv=None):
        args = parser.parse_args(argv)
        return run_distributed(lambda encoders: run_from_args(args, encoders["codes"]),
                               {"codes": lambda: build_encoder(args)})

launched as ``torchrun --nproc-per-node N script.py IMAGE_DIR ...`` (or as a plain
``python script.py ...``, where :func:`run_distributed` runs in this process only).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from mmselfsup_ext.dedup.encoders import EncodeResult, Encoder, check_encoder
from mmselfsup_ext.dedup.retrieval import DescriptorIndex
from mmselfsup_ext.dedup.sources.keypoints import retrieval_votes
from mmselfsup_ext.dedup.verify import FeatureStore, VerifiedPairs, verify_pairs

__all__ = ["DistributedEncoder", "distributed_encode_group", "init_distributed",
           "is_distributed_launch", "is_main_process", "local_device", "run_distributed",
           "serve_encode_requests", "shard_bounds", "stop_serving"]

# Ranks other than 0 wait in a broadcast while rank 0 pairs and writes outputs,
# which can take longer than the default 30 minute collective timeout on a large
# folder; a crashed rank 0 is still noticed at once because torchrun stops the
# whole group when one process fails.
CONTROL_TIMEOUT = timedelta(days=7)
_STOP = "stop"
_ENCODE = "encode"
_VERIFY = "verify"
_QUERY = "query"
_VOTES = "votes"


def _world_size_env() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def is_distributed_launch() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE > 1``).

    Returns
    -------
    bool
        False without ``torch.distributed`` support, or with ``WORLD_SIZE`` unset,
        invalid or 1.
    """
    return dist.is_available() and _world_size_env() > 1


def is_main_process() -> bool:
    """Whether this process should write outputs: rank 0, or the only process.

    Returns
    -------
    bool
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True


def local_device() -> str:
    """The device this process should encode on: ``cuda:LOCAL_RANK`` with CUDA, else ``cpu``.

    ``init_model(device="auto")`` would put every rank on ``cuda:0``; pass this instead.

    Returns
    -------
    str
    """
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"


def init_distributed() -> bool:
    """Join the ``torchrun`` process group unless already joined.

    Uses NCCL when CUDA is available, else gloo, and makes ``cuda:LOCAL_RANK`` the
    current CUDA device of this process.

    Returns
    -------
    bool
        True if this call created the process group (the caller then destroys it).

    Raises
    ------
    RuntimeError
        When the process was not started by a distributed launcher.
    """
    if not is_distributed_launch():
        raise RuntimeError("init_distributed needs a torchrun launch (WORLD_SIZE > 1)")
    if torch.cuda.is_available():
        torch.cuda.set_device(torch.device(local_device()))
    if dist.is_initialized():
        return False
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return True


def distributed_encode_group() -> Any:
    """A gloo group over all ranks for encode requests, with a long idle timeout.

    Collective: every rank must call it, at the same point. Requests and results
    are pickled Python objects, which gloo moves on the CPU whatever the main
    backend is.
    """
    return dist.new_group(backend="gloo", timeout=CONTROL_TIMEOUT)


def shard_bounds(n: int, world_size: int) -> list[int]:
    """Start of each rank's contiguous shard of ``n`` items, plus ``n``.

    Shard sizes differ by at most one; the first ``n % world_size`` ranks take the
    larger ones.

    Parameters
    ----------
    n : int
        Number of items (>= 0).
    world_size : int
        Number of ranks (>= 1).

    Returns
    -------
    list of int
        ``world_size + 1`` bounds: rank ``r`` gets ``items[bounds[r]:bounds[r + 1]]``.

    Examples
    --------
    >>> shard_bounds(5, 2)
    [0, 3, 5]
    """
    if n < 0 or world_size < 1:
        raise ValueError(f"expected n >= 0 and world_size >= 1, got n={n}, "
                         f"world_size={world_size}")
    base, extra = divmod(n, world_size)
    bounds = [0]
    for rank in range(world_size):
        bounds.append(bounds[-1] + base + (rank < extra))
    return bounds


def _encode_shard(encoder: Encoder | None, build: Callable[[], Encoder] | None,
                  paths: list[str], workers: int, progress: bool
                  ) -> tuple[Encoder | None, dict[str, Any]]:
    """Encode one shard; the payload carries an error message instead of raising,
    so that rank 0 never waits forever for a rank whose encoder failed."""
    try:
        if encoder is None:
            encoder = build()
        result = encoder.encode([Path(p) for p in paths], workers=workers, progress=progress)
        return encoder, {"identity": encoder.identity,
                         "codes": {tag: np.asarray(c, dtype=np.uint8)
                                   for tag, c in result.codes.items()},
                         "ok_paths": [str(p) for p in result.ok_paths],
                         "unreadable": [(str(p), str(r)) for p, r in result.unreadable]}
    except Exception as exc:  # reported on rank 0 as one RuntimeError
        return encoder, {"error": f"{type(exc).__name__}: {exc}"}


def _pair_slices(features: FeatureStore, i: np.ndarray, j: np.ndarray, world: int) -> list[dict[str, Any]]:
    """One contiguous slice of the pairs per rank, with only the feature rows it reads."""
    bounds = shard_bounds(len(i), world)
    slices = []
    for rank in range(world):
        a, b = bounds[rank], bounds[rank + 1]
        images = np.unique(np.concatenate([i[a:b], j[a:b]]))
        slices.append({"rows": features.rows[images], "present": features.present[images],
                       "detector": features.detector, "n_features": features.n_features,
                       "i": np.searchsorted(images, i[a:b]), "j": np.searchsorted(images, j[a:b])})
    return slices


def _verify_slice(encoder: Encoder | None, build: Callable[[], Encoder] | None, work: dict[str, Any],
                  shared: Any, workers: int, progress: bool) -> tuple[Encoder | None, dict[str, Any]]:
    """Match one slice of pairs; like :func:`_encode_shard`, an error travels as a message.

    The role's encoder matches when it offers ``verify_pairs`` (a wrapper may, to
    record its work); otherwise :func:`~mmselfsup_ext.dedup.verify.verify_pairs` does.
    """
    try:
        if encoder is None:
            encoder = build()
        match = getattr(encoder, "verify_pairs", verify_pairs)
        store = FeatureStore(work["rows"], work["detector"], work["n_features"], work["present"])
        found = match(store, work["i"], work["j"], workers=workers, progress=progress)
        return encoder, {"overlap": found.overlap, "inliers": found.inliers, "status": found.status,
                         "homography": found.homography}
    except Exception as exc:  # reported on rank 0 as one RuntimeError
        return encoder, {"error": f"{type(exc).__name__}: {exc}"}


def _query_slice(encoder: Encoder | None, build: Callable[[], Encoder] | None, work: dict[str, Any],
                 shared: Any, workers: int, progress: bool) -> tuple[Encoder | None, dict[str, Any]]:
    """Range-search one slice of the query images in the index (``shared``: the index, or
    its bytes, length and lists on a serving rank)."""
    try:
        if encoder is None:
            encoder = build()
        index = (shared if isinstance(shared, DescriptorIndex)
                 else DescriptorIndex.deserialize(*shared))
        surface = getattr(encoder, "surfaced_pairs", None)
        if surface is None:
            query, other, count = index.surfaced_pairs(work["ids"], work["descriptors"],
                                                       work["radius"], min_count=work["min_count"])
        else:
            query, other, count = surface(index, work["ids"], work["descriptors"], work["radius"],
                                          work["min_count"])
        return encoder, {"query": query, "other": other, "count": count}
    except Exception as exc:  # reported on rank 0 as one RuntimeError
        return encoder, {"error": f"{type(exc).__name__}: {exc}"}


def _votes_slice(encoder: Encoder | None, build: Callable[[], Encoder] | None, work: dict[str, Any],
                 shared: Any, workers: int, progress: bool) -> tuple[Encoder | None, dict[str, Any]]:
    """Score one slice of the surfaced pairs exactly (:func:`retrieval_votes`)."""
    try:
        if encoder is None:
            encoder = build()
        score = getattr(encoder, "retrieval_votes", retrieval_votes)
        votes = score(work["descriptors"], work["a"], work["b"], work["radius"], workers=workers,
                      progress=progress)
        return encoder, {"votes": np.asarray(votes, dtype=np.int64)}
    except Exception as exc:  # reported on rank 0 as one RuntimeError
        return encoder, {"error": f"{type(exc).__name__}: {exc}"}


#: Work rank 0 scatters in slices, by request kind: what each rank runs on its slice.
_SLICE_WORK = {_VERIFY: _verify_slice, _QUERY: _query_slice, _VOTES: _votes_slice}


def _descriptor_slices(descriptors: Sequence[np.ndarray], a: np.ndarray, b: np.ndarray,
                       radius: int, world: int) -> list[dict[str, Any]]:
    """One contiguous slice of the pairs per rank, with only the descriptors it reads."""
    bounds = shard_bounds(len(a), world)
    slices = []
    for rank in range(world):
        lo, hi = bounds[rank], bounds[rank + 1]
        images = np.unique(np.concatenate([a[lo:hi], b[lo:hi]]))
        slices.append({"descriptors": [descriptors[int(k)] for k in images], "radius": radius,
                       "a": np.searchsorted(images, a[lo:hi]),
                       "b": np.searchsorted(images, b[lo:hi])})
    return slices


class DistributedEncoder:
    """Shard :meth:`encode` across the ranks of a ``torchrun`` launch.

    On rank 0 of a distributed launch, ``encode`` sends the path list to the ranks
    running :func:`serve_encode_requests`, encodes the first shard itself and
    returns the merged result; elsewhere (a single process) it is the wrapped
    encoder's ``encode``. Ranks other than 0 never call ``encode``; use
    :func:`run_distributed`, which sets both sides up.

    Parameters
    ----------
    encoder : Encoder
        This rank's encoder; every rank must build an equal one (same weights and
        settings), or the shards would carry different codes.
    group : optional
        Process group of the requests (:func:`distributed_encode_group`); default
        the world group.
    role : str
        Name of the encoder among those the serving ranks build (see
        :func:`serve_encode_requests`).

    Attributes
    ----------
    tags, identity
        Those of ``encoder`` (sharding never changes a code).
    """

    def __init__(self, encoder: Encoder, group: Any = None, role: str = "codes") -> None:
        check_encoder(encoder)
        self.encoder = encoder
        self.role = role
        self.tags: dict[str, int] = dict(encoder.tags)
        self.identity: str = encoder.identity
        # Cell codes stay cell codes: the pipeline searches them by agreement.
        self.spatial = getattr(encoder, "spatial", None)
        self.group = group
        self.distributed = is_distributed_launch()
        if self.distributed and not dist.is_initialized():
            init_distributed()

    def __repr__(self) -> str:
        return f"DistributedEncoder({self.encoder!r})"

    def encode(self, paths: Sequence[Path], workers: int = 1,
               progress: bool = True) -> EncodeResult:
        """Encode ``paths`` on all ranks; the result equals the wrapped encoder's.

        As :meth:`~mmselfsup_ext.dedup.encoders.Encoder.encode`, with ``workers``
        decoding workers on each rank and the progress bar of rank 0's own shard.
        Every rank must see ``paths`` at the same paths (one machine, or a shared
        file system). ``timings`` is left empty, so callers charge the wall time of
        the parallel call.

        Raises
        ------
        RuntimeError
            Called on a rank other than 0, or another rank's encoder failed.
        """
        if not self.distributed:
            return self.encoder.encode(paths, workers=workers, progress=progress)
        if not is_main_process():
            raise RuntimeError("DistributedEncoder.encode runs on rank 0 only; other ranks "
                               "serve it with serve_encode_requests()")
        names = [str(p) for p in paths]
        dist.broadcast_object_list([(_ENCODE, self.role, names, workers)], src=0,
                                   group=self.group)
        world = dist.get_world_size(self.group)
        bounds = shard_bounds(len(names), world)
        _, own = _encode_shard(self.encoder, None, names[bounds[0]:bounds[1]], workers,
                               progress)
        gathered: list[Any] = [None] * world
        dist.gather_object(own, gathered, dst=0, group=self.group)
        return self._merge(gathered, [names[bounds[r]:bounds[r + 1]] for r in range(world)])

    def verify_pairs(self, features: FeatureStore, i: np.ndarray, j: np.ndarray, workers: int = 1,
                     progress: bool = True) -> VerifiedPairs:
        """Verify the pairs ``(i, j)`` on all ranks; the result equals one process's.

        As :func:`~mmselfsup_ext.dedup.verify.verify_pairs` with the default settings:
        ``workers`` matching threads on each rank and the progress bar of rank 0's own
        slice. Each rank receives only the feature rows its slice of the pairs reads.

        Raises
        ------
        RuntimeError
            Called on a rank other than 0, or matching failed on another rank.
        """
        i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        if not self.distributed or not isinstance(features, FeatureStore):
            return verify_pairs(features, i, j, workers=workers, progress=progress)
        if not is_main_process():
            raise RuntimeError("DistributedEncoder.verify_pairs runs on rank 0 only; other ranks "
                               "serve it with serve_encode_requests()")
        if i.shape != j.shape or i.ndim != 1 or (i.size and (min(i.min(), j.min()) < 0
                                                     or max(i.max(), j.max()) >= len(features))):
            # The local call raises the one-line error a bad request deserves.
            return verify_pairs(features, i, j, workers=workers, progress=progress)
        world = dist.get_world_size(self.group)
        gathered = self._scatter(_VERIFY, _pair_slices(features, i, j, world), None, workers,
                                 progress)
        # Slices are contiguous, so rank order is the pairs' order.
        return VerifiedPairs(**{field: np.concatenate([p[field] for p in gathered])
                                for field in ("overlap", "inliers", "status", "homography")})

    def surfaced_pairs(self, index: DescriptorIndex, image_ids: np.ndarray,
                       descriptors: Sequence[np.ndarray], radius: int, min_count: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`DescriptorIndex.surfaced_pairs` with the query images sliced over the ranks.

        Rank 0 broadcasts the index once and scatters contiguous slices of the query
        images with their descriptors; each image's matches are complete within its
        slice, so the union of the slices' pairs is one process's (in another row
        order, which the caller's ``unique`` removes).
        """
        image_ids = np.asarray(image_ids, dtype=np.int64)
        if not self.distributed or not is_main_process():
            return index.surfaced_pairs(image_ids, descriptors, radius, min_count=min_count)
        world = dist.get_world_size(self.group)
        bounds = shard_bounds(len(image_ids), world)
        slices = [{"ids": image_ids[bounds[r]:bounds[r + 1]],
                   "descriptors": [descriptors[k] for k in range(bounds[r], bounds[r + 1])],
                   "radius": int(radius), "min_count": int(min_count)} for r in range(world)]
        gathered = self._scatter(_QUERY, slices, index, 1, False)
        return tuple(np.concatenate([p[name] for p in gathered]).astype(np.int64)
                     for name in ("query", "other", "count"))

    def retrieval_votes(self, descriptors: Sequence[np.ndarray], a: np.ndarray, b: np.ndarray,
                        radius: int, *, workers: int = 1, progress: bool = False) -> np.ndarray:
        """:func:`~mmselfsup_ext.dedup.sources.keypoints.retrieval_votes` with the pairs
        sliced over the ranks (each with only the descriptors its slice reads)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if not self.distributed or not is_main_process():
            return retrieval_votes(descriptors, a, b, radius, workers=workers, progress=progress)
        world = dist.get_world_size(self.group)
        gathered = self._scatter(_VOTES, _descriptor_slices(descriptors, a, b, int(radius), world),
                                 None, workers, progress)
        # Slices are contiguous, so rank order is the pairs' order.
        return np.concatenate([p["votes"] for p in gathered]).astype(np.int64)

    def _scatter(self, kind: str, slices: list[dict[str, Any]], shared: Any, workers: int,
                 progress: bool) -> list[dict[str, Any]]:
        """Send every rank its slice (and ``shared`` once), run rank 0's, gather all."""
        dist.broadcast_object_list([(kind, self.role, [], workers)], src=0, group=self.group)
        if kind == _QUERY:
            dist.broadcast_object_list([(shared.serialize(), shared.n_bits, shared.nlist)], src=0,
                                       group=self.group)
        received: list[Any] = [None]
        dist.scatter_object_list(received, slices, src=0, group=self.group)
        _, own = _SLICE_WORK[kind](self.encoder, None, received[0], shared, workers, progress)
        gathered: list[Any] = [None] * dist.get_world_size(self.group)
        dist.gather_object(own, gathered, dst=0, group=self.group)
        errors = [f"rank {r}: {p['error']}" for r, p in enumerate(gathered) if "error" in p]
        if errors:
            raise RuntimeError(f"distributed {kind} failed on " + "; ".join(errors))
        return gathered

    def _merge(self, payloads: list[dict[str, Any]], shards: list[list[str]]) -> EncodeResult:
        errors = [f"rank {r}: {p['error']}" for r, p in enumerate(payloads) if "error" in p]
        if errors:
            raise RuntimeError("distributed encoding failed on " + "; ".join(errors))
        differ = [r for r, p in enumerate(payloads) if p["identity"] != self.identity]
        if differ:
            raise RuntimeError(f"ranks {differ} built an encoder other than rank 0's "
                               f"({self.identity}); every rank needs the same weights")
        codes: dict[str, np.ndarray] = {}
        for tag, bits in self.tags.items():
            nbytes = (bits + 7) // 8
            parts = [p["codes"][tag].reshape(len(p["ok_paths"]), nbytes) for p in payloads]
            codes[tag] = np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.uint8)
        for rank, (payload, shard) in enumerate(zip(payloads, shards)):
            if len(payload["ok_paths"]) + len(payload["unreadable"]) != len(shard):
                raise RuntimeError(f"rank {rank} returned {len(payload['ok_paths'])} codes and "
                                   f"{len(payload['unreadable'])} unreadable files for a "
                                   f"shard of {len(shard)}")
        # Shards are contiguous and each keeps its input order, so concatenating
        # them in rank order is the input order.
        return EncodeResult(
            codes=codes,
            ok_paths=[Path(p) for payload in payloads for p in payload["ok_paths"]],
            unreadable=[(Path(p), r) for payload in payloads for p, r in payload["unreadable"]])



def stop_serving(group: Any = None) -> None:
    """Release the ranks waiting in :func:`serve_encode_requests` (rank 0 only)."""
    dist.broadcast_object_list([(_STOP, "", [], 0)], src=0, group=group)


def serve_encode_requests(builders: Mapping[str, Callable[[], Encoder]],
                          group: Any = None) -> int:
    """Serve rank 0's requests (encode; verify, query and score slices) until it says stop
    (ranks other than 0).

    Parameters
    ----------
    builders : mapping of str to callable
        Role -> builder of this rank's encoder for that role, called on the role's
        first request only (so a run that ends before encoding, such as a usage
        error, never loads a model here).
    group : optional
        The group rank 0's :class:`DistributedEncoder` uses.

    Returns
    -------
    int
        Number of requests served.
    """
    encoders: dict[str, Encoder | None] = dict.fromkeys(builders)
    served = 0
    while True:
        message: list[Any] = [None]
        dist.broadcast_object_list(message, src=0, group=group)
        kind, role, names, workers = message[0]
        if kind == _STOP:
            return served
        if kind in _SLICE_WORK:
            shared: list[Any] = [None]
            if kind == _QUERY:
                dist.broadcast_object_list(shared, src=0, group=group)
            received: list[Any] = [None]
            dist.scatter_object_list(received, None, src=0, group=group)
            encoders[role], payload = _SLICE_WORK[kind](encoders[role], builders[role],
                                                        received[0], shared[0], workers, False)
            dist.gather_object(payload, None, dst=0, group=group)
            served += 1
            continue
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        bounds = shard_bounds(len(names), world)
        encoders[role], payload = _encode_shard(encoders[role], builders[role],
                                                names[bounds[rank]:bounds[rank + 1]],
                                                workers, False)
        dist.gather_object(payload, None, dst=0, group=group)
        served += 1


def run_distributed(run: Callable[[Mapping[str, Callable[[], Encoder]]], int],
                    builders: Mapping[str, Callable[[], Encoder]]) -> int:
    """Run a deduplication script on one process or on every rank of a ``torchrun`` launch.

    Parameters
    ----------
    run : callable
        Takes role -> zero-argument encoder factory and returns an exit status, e.g.
        ``lambda encoders: run_from_args(args, encoders["codes"])``. Called on rank 0
        only.
    builders : mapping of str to callable
        Role -> builder of that role's encoder (called on each rank that encodes).

    Returns
    -------
    int
        ``run``'s status on rank 0 (or in a single process); 0 on the other ranks,
        which write nothing.
    """
    if not is_distributed_launch():
        return run(builders)
    created = init_distributed()
    group = distributed_encode_group()
    try:
        if not is_main_process():
            serve_encode_requests(builders, group)
            return 0

        def sharded(role: str) -> Callable[[], Encoder]:
            return lambda: DistributedEncoder(builders[role](), group, role)

        try:
            return run({role: sharded(role) for role in builders})
        finally:
            # Even after an error the other ranks wait for a message: release them.
            stop_serving(group)
    finally:
        if created:
            dist.destroy_process_group()
