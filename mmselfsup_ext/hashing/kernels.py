"""Numba kernels for exact Hamming search, memory O(N + output).

Kernels are serial and release the GIL (``nogil``); the caller runs one per thread on
disjoint rows. Compared with ``parallel=True`` this compiles several times faster
(no parfor pass) and lets the caller choose the thread count.

Codes arrive as a tuple of W contiguous uint64 arrays, word ``w`` of every code in
``words[w]`` (structure of arrays): the loop over ``j`` then reads contiguous memory and
LLVM vectorises XOR + popcount (``vpopcntq`` where the CPU has it). The tuple length is
part of the numba type, so each code width gets its own fully unrolled specialisation.

Two details matter for speed and are easy to undo by accident:

* inner loops index with ``np.uint64``: with signed indices numba adds a wraparound
  check for negative indices that blocks vectorisation (measured 5x slower);
* popcounts are typed int64: mixing uint64 with int64 makes numba compute in float64.

The histogram scatter (one read-modify-write per pair) is the bottleneck. It is halved
by counting *pairs of distances* in a 2-D histogram ``h2[d0 * n_bins + d1]`` (65 x 65
int32 = 17 KB for 64-bit codes, in L1) and marginalising at the end.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# Distances of one row against this many columns are computed into a buffer
# (vectorised) before the scalar histogram scatter. 2048 int32 = 8 KB: L1-resident.
_BLOCK = 2048
# Flush the int32 2-D histogram into int64 before any bin can overflow: each pair of
# pairs adds 1 to one bin, so after fewer than 2**32 pairs no bin exceeds 2**31 - 1.
_FLUSH_PAIRS = 4_000_000_000


@intrinsic
def popcount(typingctx, x):
    """LLVM ``ctpop`` of a uint64, typed int64 (see the module notes)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, args)

    return types.int64(types.uint64), codegen


@numba.njit(inline="always")
def _u(k):
    return np.uint64(k)


@numba.njit(inline="always")
def _row_block(words, i, j0, m, buf):
    """buf[:m] = distance(i, j0 + k) for k in [0, m)."""
    a = words[0][i]
    x = words[0][j0:]
    for k in range(m):
        buf[_u(k)] = popcount(a ^ x[_u(k)])
    for w in range(1, len(words)):
        a = words[w][i]
        x = words[w][j0:]
        for k in range(m):
            buf[_u(k)] += popcount(a ^ x[_u(k)])


@numba.njit(inline="always")
def _flush(h2, hist, n_bins):
    for a in range(n_bins):
        for b in range(n_bins):
            v = h2[a * n_bins + b]
            hist[a] += v
            hist[b] += v
    h2[:] = 0


@numba.njit(cache=True, nogil=True)
def scan(words, radius, n_bits, want_hist, task, n_tasks, row_counts):
    """Rows ``task, task + n_tasks, ...``: set ``row_counts[i]`` = #{j > i: d <= radius}
    and return the histogram of their pairs i < j (zeros unless ``want_hist``).
    Dealing rows round-robin balances the triangular workload across tasks."""
    n = words[0].shape[0]
    n_bins = n_bits + 1
    hist = np.zeros(n_bins, dtype=np.int64)
    buf = np.empty(_BLOCK, dtype=np.int32)
    idx = np.empty(_BLOCK // 2, dtype=np.int32)
    h2 = np.zeros(n_bins * n_bins if want_hist else 0, dtype=np.int32)
    pending = 0
    for i in range(task, n, n_tasks):
        count = 0
        for j0 in range(i + 1, n, _BLOCK):
            m = min(n - j0, _BLOCK)
            _row_block(words, i, j0, m, buf)
            for k in range(m):
                count += buf[_u(k)] <= radius
            if want_hist:
                half = m // 2
                for k in range(half):
                    idx[_u(k)] = buf[_u(2 * k)] * n_bins + buf[_u(2 * k + 1)]
                for k in range(half):
                    h2[_u(idx[_u(k)])] += 1
                if m & 1:
                    hist[buf[m - 1]] += 1
        row_counts[i] = count
        pending += n - 1 - i
        if want_hist and pending > _FLUSH_PAIRS:
            _flush(h2, hist, n_bins)
            pending = 0
    if want_hist:
        _flush(h2, hist, n_bins)
    return hist


@numba.njit(cache=True, nogil=True)
def fill_pairs(words, radius, rows, offsets, out_i, out_j, out_d):
    """Write the pairs (i, j > i, d <= radius) of each row in ``rows`` from
    ``offsets[r]`` on, in ascending j (row counts come from ``scan``)."""
    n = words[0].shape[0]
    for r in range(rows.shape[0]):
        i = rows[r]
        pos = offsets[r]
        buf = np.empty(_BLOCK, dtype=np.int32)
        for j0 in range(i + 1, n, _BLOCK):
            m = min(n - j0, _BLOCK)
            _row_block(words, i, j0, m, buf)
            for k in range(m):
                d = buf[_u(k)]
                if d <= radius:
                    out_i[pos] = i
                    out_j[pos] = j0 + k
                    out_d[pos] = d
                    pos += 1


@numba.njit(cache=True, nogil=True)
def knn(words, k, n_bits, rows, out):
    """out[r] = ascending distances of row rows[r] to its k nearest other rows."""
    n = words[0].shape[0]
    for r in range(rows.shape[0]):
        i = rows[r]
        best = np.full(k, n_bits + 1, dtype=np.int64)
        buf = np.empty(_BLOCK, dtype=np.int32)
        for j0 in range(0, n, _BLOCK):
            m = min(n - j0, _BLOCK)
            _row_block(words, i, j0, m, buf)
            if j0 <= i < j0 + m:
                buf[i - j0] = n_bits + 1  # a code is not its own neighbour
            worst = best[k - 1]
            low = n_bits + 1
            for q in range(m):
                low = min(low, buf[_u(q)])
            if low >= worst:
                continue  # vectorised block minimum: most blocks hold no candidate
            for q in range(m):
                d = np.int64(buf[q])
                if d < worst:
                    p = k - 1
                    while p > 0 and best[p - 1] > d:
                        best[p] = best[p - 1]
                        p -= 1
                    best[p] = d
                    worst = best[k - 1]
        out[r] = best


@numba.njit(cache=True, nogil=True)
def pair_distances(words, i, j):
    """Distances of explicit pairs (i[m], j[m])."""
    out = np.empty(i.shape[0], dtype=np.int64)
    for m in range(i.shape[0]):
        d = 0
        for w in range(len(words)):
            d += popcount(words[w][i[m]] ^ words[w][j[m]])
        out[m] = d
    return out


@numba.njit(inline="always")
def _grow(a, size):
    out = np.empty(2 * a.shape[0], dtype=a.dtype)
    out[:size] = a[:size]
    return out


@numba.njit(cache=True, nogil=True)
def mih_verify(words, keys, s, order, starts, stops, radius):
    """Multi-index hashing: verify the candidate pairs of the given buckets of
    substring ``s`` (``order[starts[b]:stops[b]]`` share key ``keys[s]``).

    A pair is reported only by the first substring on which it agrees exactly, so a
    pair is emitted once without a global de-duplication. ``order`` comes from a
    stable sort, so ``order[p] < order[q]`` for ``p < q`` inside a bucket.
    """
    cap = 1024
    out_i = np.empty(cap, dtype=np.int64)
    out_j = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.int64)
    size = 0
    for b in range(starts.shape[0]):
        for p in range(starts[b], stops[b]):
            a = order[p]
            for q in range(p + 1, stops[b]):
                c = order[q]
                seen = False
                for s2 in range(s):
                    if keys[s2, a] == keys[s2, c]:
                        seen = True
                        break
                if seen:
                    continue
                d = 0
                for w in range(len(words)):
                    d += popcount(words[w][a] ^ words[w][c])
                if d <= radius:
                    if size == out_i.shape[0]:
                        out_i = _grow(out_i, size)
                        out_j = _grow(out_j, size)
                        out_d = _grow(out_d, size)
                    out_i[size] = a
                    out_j[size] = c
                    out_d[size] = d
                    size += 1
    return out_i[:size], out_j[:size], out_d[:size]
