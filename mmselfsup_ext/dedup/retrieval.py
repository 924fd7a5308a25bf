"""Candidate pairs from local binary descriptors, in any file order, at near-linear cost.

Whole-image codes summarise a frame, so two views of a wall shifted by 40 % share
little of that summary; their keypoint descriptors still match. Retrieval finds,
for every image, the images that share many descriptors with it:

1. each image contributes its ``n_descriptors`` strongest binary descriptors (a
   prefix of the features verification uses) to a faiss binary index: exact
   (``IndexBinaryFlat``) for small collections, an inverted file
   (``IndexBinaryIVF``, ~``LIST_SIZE`` descriptors per list, ``NPROBE`` lists
   probed) beyond ``EXACT_MAX`` descriptors, so a query costs the same at any N;
2. the descriptors of the images being added are range-searched (Hamming distance
   ``<= radius``); an image pair that surfaces at least ``min_votes // 2`` matches
   becomes a proposal;
3. every proposal is rescored exactly on the two images' descriptors:
   ``votes = min(#a with a match in B, #b with a match in A)`` (numba kernel). The
   score depends on the two images only, so scores never change when images are
   added, which makes incremental runs equal to a from-scratch run; only the
   proposal step is approximate, and a pair with ``votes >= min_votes`` has that
   many true matches for the index to surface.
4. pairs with ``votes >= min_votes`` are candidates; each image keeps at most
   ``max_per_image`` of them, strongest first (a pair stays if either image keeps it).

Measured on a 1,308-shot two-pass survey over ten walls (300 ORB descriptors per
shot, radius 40): shots without shared surface score 0 votes at the 95th percentile,
true duplicates (overlap >= 0.5) at least 32 votes at the 5th percentile.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import faiss
import numba
import numpy as np

from ..hashing.kernels import popcount
from ..hashing.codes import as_words
from ..validation import check_int
from .verify.features import ImageFeatures

__all__ = ["EXACT_MAX", "LIST_SIZE", "NPROBE", "DescriptorIndex", "RetrievalSettings",
           "match_counts", "retrieval_descriptors", "select_candidates"]

# Up to this many indexed descriptors (about 100 images) a query scans all of them: exact,
# and cheaper than training an inverted file.
EXACT_MAX = 32_768
# Descriptors per inverted list and lists probed per query beyond EXACT_MAX: the
# IVF keeps the work per query constant as the collection grows.
LIST_SIZE = 512
NPROBE = 4
# Descriptor ids pack the image id above the descriptor's rank in that image.
_RANK_BITS = 16
# Query descriptors per faiss range search (whole images): bounds the result buffers.
_QUERY_BATCH = 65_536
# faiss runs single-threaded: its OpenMP threads spin while they wait, and on a loaded
# 2-core machine a 2-thread range search took 3.8 s where one thread took 0.3 s.
faiss.omp_set_num_threads(1)


@dataclass(frozen=True)
class RetrievalSettings:
    """How descriptors propose candidate pairs.

    Parameters
    ----------
    n_descriptors : int, default 300
        Strongest descriptors per image that are indexed and queried (9.6 KB per
        image for ORB).
    radius : int, default 40
        Hamming radius of a descriptor match (ORB: 256 bits).
    min_votes : int, default 8
        Exact votes that make a pair a candidate.
    max_per_image : int, default 64
        Candidates an image keeps, strongest first.
    """

    n_descriptors: int = 300
    radius: int = 40
    min_votes: int = 8
    max_per_image: int = 64

    def __post_init__(self) -> None:
        check_int(self.n_descriptors, "n_descriptors", minimum=1)
        if self.n_descriptors >= 1 << _RANK_BITS:
            raise ValueError(f"n_descriptors must be < {1 << _RANK_BITS}, "
                             f"got {self.n_descriptors}")
        check_int(self.radius, "radius", minimum=0)
        check_int(self.min_votes, "min_votes", minimum=1)
        check_int(self.max_per_image, "max_per_image", minimum=1)

    @property
    def fingerprint(self) -> str:
        """Settings that change indexed content or scores (persisted state must match)."""
        return f"n_descriptors={self.n_descriptors}/radius={self.radius}"


@numba.njit(cache=True, nogil=True)
def _match_counts(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[int, int]:
    n_a, n_b = a.shape[0], b.shape[0]
    hit_b = np.zeros(n_b, np.bool_)
    count_a = 0
    for x in range(n_a):
        found = False
        for y in range(n_b):
            d = 0
            for w in range(a.shape[1]):
                d += popcount(a[x, w] ^ b[y, w])
            if d <= radius:
                found = True
                hit_b[y] = True
        count_a += found
    return count_a, int(hit_b.sum())


def match_counts(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[int, int]:
    """How many descriptors of ``a`` have a match in ``b``, and of ``b`` in ``a``.

    Parameters
    ----------
    a, b : ndarray
        ``uint8`` binary descriptors ``(Ka, nbytes)`` and ``(Kb, nbytes)``.
    radius : int
        A match is a pair at Hamming distance ``<= radius``.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> a = np.array([[0], [255]], dtype=np.uint8)
    >>> b = np.array([[1], [3], [7]], dtype=np.uint8)
    >>> match_counts(a, b, 1)
    (1, 1)
    """
    if len(a) == 0 or len(b) == 0:
        return 0, 0
    return _match_counts(as_words(a), as_words(b), int(radius))


def _image_of(ids: np.ndarray) -> np.ndarray:
    return np.right_shift(ids, _RANK_BITS)


class DescriptorIndex:
    """A faiss binary index of image descriptors, keyed by image id.

    Parameters
    ----------
    n_bits : int
        Descriptor length (256 for ORB).

    Notes
    -----
    The index is exact until it holds :data:`EXACT_MAX` descriptors; :meth:`grow`
    then rebuilds it as an inverted file. Its list centres are descriptors of the
    collection chosen by their content (so the same images give the same index in
    any file order), not k-means centres: measured on 3 million ORB descriptors,
    k-means took 97 s for 4096 lists while random centres cost nothing and kept 86 %
    of the matches within radius 40 (enough: candidate pairs share dozens). The
    centres are themselves found through a small inverted file of ``sqrt(nlist)``
    super-centres, so assigning a descriptor costs about ``10 * sqrt(nlist)``
    comparisons instead of ``nlist`` (adding 3 million: 15 s instead of 42 s).
    """

    def __init__(self, n_bits: int = 256) -> None:
        self.n_bits = check_int(n_bits, "n_bits", minimum=8)
        self.index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(self.n_bits))
        self.nlist = 0

    @property
    def size(self) -> int:
        """Indexed descriptors."""
        return int(self.index.ntotal)

    def serialize(self) -> np.ndarray:
        """The index as ``uint8`` bytes (:meth:`deserialize` restores it)."""
        return faiss.serialize_index_binary(self.index)

    def write(self, write: Callable[[bytes], object]) -> None:
        """Pass the :meth:`serialize` bytes to ``write`` a piece at a time, never whole."""
        writer = faiss.PyCallbackIOWriter(write)
        faiss.write_index_binary(self.index, writer)
        del writer  # flushes its last piece

    @classmethod
    def deserialize(cls, data: np.ndarray, n_bits: int, nlist: int) -> DescriptorIndex:
        """An index from :meth:`serialize` bytes."""
        return cls._adopt(faiss.deserialize_index_binary(np.asarray(data, dtype=np.uint8)),
                          n_bits, nlist)

    @classmethod
    def read(cls, read: Callable[[int], bytes], n_bits: int, nlist: int) -> DescriptorIndex:
        """An index from :meth:`serialize` bytes that ``read(n)`` returns a piece at a time."""
        reader = faiss.PyCallbackIOReader(read)
        try:
            return cls._adopt(faiss.read_index_binary(reader), n_bits, nlist)
        finally:
            del reader

    @classmethod
    def _adopt(cls, index: faiss.IndexBinary, n_bits: int, nlist: int) -> DescriptorIndex:
        made = cls(n_bits)
        made.index = index
        if made.index.d != n_bits:
            raise ValueError(f"the stored index holds {made.index.d}-bit descriptors, "
                             f"expected {n_bits}")
        made.nlist = int(nlist)
        if made.nlist:
            made.index.nprobe = NPROBE
        return made

    def add(self, image_ids: Sequence[int], descriptors: Sequence[np.ndarray]) -> None:
        """Index the descriptors of each image (rows ranked strongest first)."""
        for ids, rows in _stacked_batches(image_ids, descriptors):
            if len(ids):
                self.index.add_with_ids(rows, ids)

    def remove(self, image_ids: Sequence[int]) -> None:
        """Forget every descriptor of these images."""
        for image in image_ids:
            low = int(image) << _RANK_BITS
            self.index.remove_ids(faiss.IDSelectorRange(low, low + (1 << _RANK_BITS)))

    def grow(self, image_ids: Sequence[int], descriptors: Sequence[np.ndarray]) -> bool:
        """Rebuild as an inverted file of exactly these images' descriptors, when they
        outgrow the current structure.

        ``image_ids``/``descriptors`` must be every indexed image, and may include
        images not indexed yet: growing before adding them means the collection is
        never held in the exact index first. ``descriptors`` is read in order, a
        batch at a time (a lazy sequence is never held whole).

        Returns
        -------
        bool
            Whether the index was rebuilt (it then holds the images given; otherwise
            it is unchanged).
        """
        total = sum(len(rows) for _, rows in _stacked_batches(image_ids, descriptors))
        if total < self.size:
            raise ValueError(f"grow needs every indexed image: {total} descriptors given "
                             f"for an index of {self.size}")
        wanted = _nlist_for(total)
        if wanted == self.nlist or (self.nlist and wanted < 2 * self.nlist):
            return False
        if wanted == 0:
            index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(self.n_bits))
        else:
            centres = _streamed_sample(_stacked_batches(image_ids, descriptors), wanted)
            index = faiss.IndexBinaryIVF(_coarse_quantizer(centres, self.n_bits),
                                         self.n_bits, wanted)
            index.is_trained = True
            index.nprobe = NPROBE
        # The old index goes first: the new one is filled a batch at a time beside nothing.
        self.index, self.nlist = index, wanted
        if wanted == 0:
            for ids, rows in _stacked_batches(image_ids, descriptors):
                if len(ids):
                    index.add_with_ids(rows, ids)
            return True
        # Each list is assigned first and allocated once at its final length: filled by
        # appending, the lists grew by doubling (benchmarks/index_memory.py: 222 MB instead
        # of 138 MB for 3 million descriptors). add_core with the same assignment stores
        # what add_with_ids would, in the same order.
        labels = [index.quantizer.search(rows, 1)[1][:, 0].astype(np.int32)
                  for ids, rows in _stacked_batches(image_ids, descriptors) if len(ids)]
        _reserve(index.invlists, np.bincount(np.concatenate(labels), minlength=wanted)
                 if labels else np.zeros(wanted, np.int64))
        batches = (batch for batch in _stacked_batches(image_ids, descriptors) if len(batch[0]))
        for (ids, rows), assigned in zip(batches, labels):
            assigned = np.ascontiguousarray(assigned, dtype=np.int64)
            index.add_core(len(ids), faiss.swig_ptr(rows), faiss.swig_ptr(ids),
                           faiss.swig_ptr(assigned))
        return True

    def surfaced_pairs(self, image_ids: Sequence[int], descriptors: Sequence[np.ndarray],
                       radius: int, min_count: int = 1
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matches each queried image surfaces in every other indexed image.

        Parameters
        ----------
        image_ids, descriptors : sequence
            The query images and their descriptor rows.
        radius : int
            A descriptor matches within this Hamming distance.
        min_count : int, default 1
            Pairs with fewer matches are dropped as soon as their image's count is
            complete, so memory follows the pairs kept, not every chance match (which
            grows with the collection).

        Returns
        -------
        query, other, count : ndarray
            ``int64`` image ids and the number of the query's descriptors with a
            match within ``radius`` in ``other`` (``other != query``), one row per
            image pair with at least ``min_count``.
        """
        min_count = check_int(min_count, "min_count", minimum=1)
        parts = []
        for ids, rows in _stacked_batches(image_ids, descriptors):
            if not len(ids):
                continue
            # faiss's binary range search keeps distances < its radius; matches are <= radius.
            lims, _, labels = self.index.range_search(rows, int(radius) + 1)
            query = np.repeat(ids, np.diff(lims).astype(np.int64))
            found = np.stack([query, _image_of(labels)], axis=1)
            found = found[_image_of(found[:, 0]) != found[:, 1]]
            # One vote per (query descriptor, other image), however many matches it has.
            found = np.unique(found, axis=0)
            pairs, count = np.unique(np.stack([_image_of(found[:, 0]), found[:, 1]], axis=1),
                                     axis=0, return_counts=True)
            keep = count >= min_count
            parts.append(np.column_stack([pairs[keep], count[keep]]))
        found = (np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)).astype(np.int64)
        return found[:, 0], found[:, 1], found[:, 2]


def _reserve(invlists: faiss.InvertedLists, sizes: np.ndarray) -> None:
    """Allocate every inverted list for ``sizes[l]`` entries, leaving it empty."""
    for list_no, size in enumerate(sizes.tolist()):
        if size:
            invlists.resize(list_no, size)
            invlists.resize(list_no, 0)  # the capacity stays


def _image_batches(image_ids: Sequence[int], descriptors: Sequence[np.ndarray]):
    """Whole images at a time, about :data:`_QUERY_BATCH` descriptors per batch (bounds the
    search's result buffers; an image's count is complete within its batch).
    ``descriptors`` is read once, in order."""
    if len(image_ids) != len(descriptors):
        raise ValueError(f"{len(image_ids)} image ids for {len(descriptors)} descriptor blocks")
    batch_ids, blocks, size = [], [], 0
    for image, block in zip(image_ids, descriptors):
        batch_ids.append(image)
        blocks.append(block)
        size += len(block)
        if size >= _QUERY_BATCH:
            yield batch_ids, blocks
            batch_ids, blocks, size = [], [], 0
    if batch_ids:
        yield batch_ids, blocks


def _stacked_batches(image_ids: Sequence[int], descriptors: Sequence[np.ndarray]):
    """:func:`_image_batches` as ``(descriptor ids, stacked rows)``."""
    for batch_ids, blocks in _image_batches(image_ids, descriptors):
        yield _stack(batch_ids, blocks)


def _nlist_for(total: int) -> int:
    """Inverted lists for ``total`` descriptors: 0 (exact) up to EXACT_MAX, then a power of
    two near ``total / LIST_SIZE``."""
    if total <= EXACT_MAX:
        return 0
    return 1 << int(round(np.log2(total / LIST_SIZE)))


def _content_keys(rows: np.ndarray) -> np.ndarray:
    """A pseudo-random 64-bit key per descriptor, mixed from all its bytes."""
    words = as_words(rows)
    keys = np.zeros(len(rows), np.uint64)
    for w in range(words.shape[1]):
        keys = (keys ^ words[:, w]) * np.uint64(0x9E3779B97F4A7C15)
        keys ^= keys >> np.uint64(29)
    return keys


def _content_sample(rows: np.ndarray, size: int) -> np.ndarray:
    """``size`` descriptors chosen and ordered by their content (not by their position):
    the rows with the smallest :func:`_content_keys` (the same set in gives the same
    sample out)."""
    return np.ascontiguousarray(rows[np.argsort(_content_keys(rows), kind="stable")[:size]])


def _streamed_sample(batches, size: int) -> np.ndarray:
    """:func:`_content_sample` of the rows of ``(ids, rows)`` batches, without stacking them:
    the smallest keys so far are kept, ties broken by position as a stable sort does."""
    keys, positions, rows = np.zeros(0, np.uint64), np.zeros(0, np.int64), None
    seen = 0
    for _, block in batches:
        if not len(block):
            continue
        keys = np.concatenate([keys, _content_keys(block)])
        positions = np.concatenate([positions, seen + np.arange(len(block), dtype=np.int64)])
        rows = block if rows is None else np.concatenate([rows, block])
        seen += len(block)
        best = np.lexsort((positions, keys))[:size]
        keys, positions, rows = keys[best], positions[best], rows[best]
    return np.ascontiguousarray(rows)


def _coarse_quantizer(centres: np.ndarray, n_bits: int) -> faiss.IndexBinary:
    """A two-level index of the list ``centres`` (see :class:`DescriptorIndex`)."""
    nlist = len(centres)
    n_super = max(1, 1 << int(round(np.log2(np.sqrt(nlist)))))
    quantizer = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(n_bits), n_bits, n_super)
    quantizer.quantizer.add(_content_sample(centres, n_super))
    quantizer.is_trained = True
    quantizer.add(centres)
    quantizer.nprobe = 8
    return quantizer


def _stack(image_ids: Sequence[int], descriptors: Sequence[np.ndarray]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Descriptor ids (image id << 16 | rank) and the stacked descriptor rows."""
    if len(image_ids) != len(descriptors):
        raise ValueError(f"{len(image_ids)} image ids for {len(descriptors)} descriptor blocks")
    blocks = [np.asarray(d, dtype=np.uint8) for d in descriptors]
    widths = {b.shape[1] for b in blocks if len(b)}
    if len(widths) > 1:
        raise ValueError(f"descriptors of different widths: {sorted(widths)}")
    ids = [(int(image) << _RANK_BITS) + np.arange(len(b), dtype=np.int64)
           for image, b in zip(image_ids, blocks)]
    if not any(len(b) for b in blocks):
        return np.zeros(0, np.int64), np.zeros((0, 1), np.uint8)
    return (np.concatenate(ids).astype(np.int64),
            np.ascontiguousarray(np.concatenate([b for b in blocks if len(b)])))


def retrieval_descriptors(features: ImageFeatures | None, settings: RetrievalSettings
                          ) -> np.ndarray:
    """The strongest ``n_descriptors`` binary descriptors of an image (empty if none)."""
    if features is None or features.descriptors.dtype != np.uint8:
        return np.zeros((0, 32), np.uint8)
    return np.ascontiguousarray(features.descriptors[:settings.n_descriptors])


def select_candidates(a: np.ndarray, b: np.ndarray, votes: np.ndarray,
                      settings: RetrievalSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs with ``votes >= min_votes``, each image keeping its ``max_per_image`` strongest.

    A pair stays if it is among the strongest of either of its images; ties keep the
    pair with the smaller image ids.

    Returns
    -------
    i, j, votes : ndarray
        ``int64``, ``i < j``, sorted by ``(i, j)``.
    """
    a, b, votes = (np.asarray(x, dtype=np.int64) for x in (a, b, votes))
    good = votes >= settings.min_votes
    i, j, v = np.minimum(a, b)[good], np.maximum(a, b)[good], votes[good]
    # Each pair appears once per image; rank within an image: strongest first, ties by
    # the other image's id.
    end, other = np.concatenate([i, j]), np.concatenate([j, i])
    pair = np.tile(np.arange(i.size), 2)
    order = np.lexsort((other, -np.tile(v, 2), end))
    ranked = end[order]
    rank = np.arange(order.size) - np.searchsorted(ranked, ranked, side="left")
    keep = np.zeros(i.size, bool)
    keep[pair[order[rank < settings.max_per_image]]] = True
    i, j, v = i[keep], j[keep], v[keep]
    order = np.lexsort((j, i))
    return i[order], j[order], v[order]
