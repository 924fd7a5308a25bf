"""Benchmark the Hamming engine against a compiled C loop, numpy and faiss.

Task timed for every implementation: the exact histogram of all N(N-1)/2 distances
plus every pair with distance <= T, on random codes of which 1% are near-copies
(<= 3 flipped bits) of others, so the output is not empty. Implementations:

* ``engine``: ``histogram_and_radius_pairs`` (one scan, second pass on rows with pairs);
* ``engine hist+auto``: ``distance_histogram`` then ``radius_pairs(method="auto")``
  (multi-index hashing when it is cheaper);
* ``C loop``: a tight C popcount loop compiled now with ``cc -O3 -march=native
  -fopenmp`` (one histogram per thread, four interleaved copies to avoid
  store-forwarding stalls), the hardware reference; called through ctypes;
* ``numpy``: the blocked numpy reference (skipped above ``--numpy-max``);
* ``faiss``: ``IndexBinaryFlat`` range search, if faiss is importable (it returns the
  pairs only, no histogram).

Every implementation's histogram and pair count are checked against the C loop.
Example: ``python benchmarks/hamming.py --sizes 10000 100000 --bits 64 128``
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mmselfsup_ext.hashing import distance_histogram, radius_pairs
from mmselfsup_ext.hashing import _mih, _reference
from mmselfsup_ext.hashing.hamming import histogram_and_radius_pairs

from _common import cpu_model

C_SOURCE = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

typedef struct { int64_t *i, *j, *d; int64_t n, cap; } pairbuf;
static pairbuf *bufs = NULL;
static int nbufs = 0;

static void push(pairbuf *b, int64_t i, int64_t j, int64_t d) {
  if (b->n == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 1024;
    b->i = realloc(b->i, b->cap * sizeof(int64_t));
    b->j = realloc(b->j, b->cap * sizeof(int64_t));
    b->d = realloc(b->d, b->cap * sizeof(int64_t));
  }
  b->i[b->n] = i; b->j[b->n] = j; b->d[b->n] = d; b->n++;
}

static inline int64_t dist(const uint64_t *a, const uint64_t *b) {
  int64_t d = 0;
  for (int w = 0; w < W; w++) d += __builtin_popcountll(a[w] ^ b[w]);
  return d;
}

/* Histogram of all pairs i < j and every pair with d <= radius; words: n rows of W
   uint64, row-major. Returns the number of pairs; fetch them with take_pairs(). */
int64_t scan(const uint64_t *words, int64_t n, int64_t radius, int64_t *hist, int threads) {
  const int64_t nbins = 64 * W + 1;
  omp_set_num_threads(threads);
  nbufs = threads;
  bufs = calloc(nbufs, sizeof(pairbuf));
  #pragma omp parallel
  {
    pairbuf *pb = &bufs[omp_get_thread_num()];
    int64_t *h = calloc(4 * nbins, sizeof(int64_t));
    #pragma omp for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
      const uint64_t *a = words + i * W;
      int64_t j = i + 1;
      for (; j + 4 <= n; j += 4) {
        int64_t d0 = dist(a, words + j * W), d1 = dist(a, words + (j + 1) * W);
        int64_t d2 = dist(a, words + (j + 2) * W), d3 = dist(a, words + (j + 3) * W);
        h[d0]++; h[nbins + d1]++; h[2 * nbins + d2]++; h[3 * nbins + d3]++;
        if (d0 <= radius) push(pb, i, j, d0);
        if (d1 <= radius) push(pb, i, j + 1, d1);
        if (d2 <= radius) push(pb, i, j + 2, d2);
        if (d3 <= radius) push(pb, i, j + 3, d3);
      }
      for (; j < n; j++) {
        int64_t d = dist(a, words + j * W);
        h[d]++;
        if (d <= radius) push(pb, i, j, d);
      }
    }
    #pragma omp critical
    for (int64_t k = 0; k < nbins; k++) hist[k] += h[k] + h[nbins + k] + h[2 * nbins + k] + h[3 * nbins + k];
    free(h);
  }
  int64_t total = 0;
  for (int t = 0; t < nbufs; t++) total += bufs[t].n;
  return total;
}

/* Copy the pairs of the last scan() (grouped by thread) and free them. */
void take_pairs(int64_t *pi, int64_t *pj, int64_t *pd) {
  int64_t o = 0;
  for (int t = 0; t < nbufs; t++) {
    memcpy(pi + o, bufs[t].i, bufs[t].n * sizeof(int64_t));
    memcpy(pj + o, bufs[t].j, bufs[t].n * sizeof(int64_t));
    memcpy(pd + o, bufs[t].d, bufs[t].n * sizeof(int64_t));
    o += bufs[t].n;
    free(bufs[t].i); free(bufs[t].j); free(bufs[t].d);
  }
  free(bufs); bufs = NULL; nbufs = 0;
}
"""

CFLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC"]


def compile_c(n_words: int, workdir: Path) -> ctypes.CDLL:
    """Compile the C reference for codes of ``n_words`` uint64 words."""
    src = workdir / "hamming_ref.c"
    src.write_text(C_SOURCE)
    lib_path = workdir / f"hamming_ref_w{n_words}.so"
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, *CFLAGS, f"-DW={n_words}", str(src), "-o", str(lib_path)], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.scan.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                         ctypes.c_int]
    lib.scan.restype = ctypes.c_int64
    lib.take_pairs.argtypes = [ctypes.c_void_p] * 3
    return lib


def c_scan(lib: ctypes.CDLL, codes: np.ndarray, radius: int, threads: int):
    words = np.ascontiguousarray(_reference.as_words(codes))
    hist = np.zeros(8 * codes.shape[1] + 1, dtype=np.int64)
    total = lib.scan(words.ctypes.data, len(codes), radius, hist.ctypes.data, threads)
    pairs = [np.empty(total, dtype=np.int64) for _ in range(3)]
    lib.take_pairs(*(p.ctypes.data for p in pairs))
    return hist, pairs


def numpy_scan(codes: np.ndarray, radius: int):
    """Blocked numpy: histogram and pairs from the same (block, N) distance tiles."""
    words = _reference.as_words(codes)
    n, n_bits = len(codes), 8 * codes.shape[1]
    hist = np.zeros(n_bits + 1, dtype=np.int64)
    found = []
    step = _reference._block_rows(n)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        d = _reference._tile(words, i0, i1, i0)
        upper = np.triu(np.ones(d.shape, dtype=bool), k=1)
        hist += np.bincount(d[upper], minlength=n_bits + 1)
        rows, cols = np.nonzero(upper & (d <= radius))
        found.append((rows + i0, cols + i0, d[rows, cols]))
    pairs = [np.concatenate([f[k] for f in found]) for k in range(3)]
    return hist, pairs


def faiss_pairs(codes: np.ndarray, radius: int):
    import faiss

    index = faiss.IndexBinaryFlat(8 * codes.shape[1])
    index.add(codes)
    # range search keeps d < thresh
    lims, dist, labels = index.range_search(codes, radius + 1)
    i = np.repeat(np.arange(len(codes)), np.diff(lims))
    keep = labels > i
    return None, [i[keep], labels[keep].astype(np.int64), dist[keep].astype(np.int64)]


def make_codes(n: int, n_bits: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, n_bits // 8), dtype=np.uint8)
    n_copies = max(1, n // 100)
    dst = rng.choice(n, n_copies, replace=False)
    codes[dst] = codes[rng.integers(0, n, n_copies)]
    for _ in range(3):
        flip = rng.random(n_copies) < 0.7
        bit = rng.integers(0, n_bits, n_copies)
        codes[dst[flip], bit[flip] // 8] ^= (1 << (bit[flip] % 8)).astype(np.uint8)
    return codes


def timed(fn):
    """Wall seconds, process CPU seconds (all threads) and the result of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--bits", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--radius", type=int, default=None,
                        help="T of 'pairs <= T' (default bits // 8)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--numpy-max", type=int, default=100_000,
                        help="skip the numpy reference above this N")
    parser.add_argument("--mih-sweep", type=int, metavar="N", default=None,
                        help="instead: time radius_pairs brute vs mih vs auto at every "
                             "radius 0..bits/8 on N codes (checks the auto cost model)")
    args = parser.parse_args(argv)
    if args.mih_sweep is not None:
        return mih_sweep(args.mih_sweep, args.bits, args.threads)
    if any(b % 64 for b in args.bits):
        parser.error("--bits must be multiples of 64")
    if shutil.which(os.environ.get("CC", "cc")) is None:
        print("no C compiler (cc) found: the hardware reference cannot be built", file=sys.stderr)
        return 1
    try:
        import faiss  # noqa: F401

        have_faiss = True
    except ImportError:
        have_faiss = False
    print(f"threads: {args.threads}; CPU: {cpu_model()}")
    if not have_faiss:
        print("faiss: not importable, skipped")

    # compile (or load from numba's cache) every kernel before timing
    warm_codes = make_codes(2000, 128)
    for nb in (8, 16):
        compile_s, _, _ = timed(lambda: (histogram_and_radius_pairs(warm_codes[:, :nb], 4),
                                      radius_pairs(warm_codes[:, :nb], 4, method="mih")))
        print(f"engine warm-up (JIT compile or cache load), {8 * nb} bits: {compile_s:.2f} s")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        libs = {b: compile_c(b // 64, Path(tmp)) for b in args.bits}
        for n_bits in args.bits:
            radius = args.radius if args.radius is not None else n_bits // 8
            for n in args.sizes:
                codes = make_codes(n, n_bits)
                n_pairs = n * (n - 1) // 2
                c_s, c_cpu, (c_hist, c_pairs) = timed(
                    lambda: c_scan(libs[n_bits], codes, radius, args.threads))
                results = [("C loop -O3 -march=native", c_s, c_cpu, (c_hist, c_pairs))]
                results.append(("engine", *timed(lambda: histogram_and_radius_pairs(
                    codes, radius, n_threads=args.threads))))
                results.append(("engine hist+auto", *timed(lambda: (
                    distance_histogram(codes, n_threads=args.threads),
                    radius_pairs(codes, radius, n_threads=args.threads)))))
                if n <= args.numpy_max:
                    results.append(("numpy blocked", *timed(lambda: numpy_scan(codes, radius))))
                else:
                    print(f"numpy blocked: skipped at N={n} (> --numpy-max {args.numpy_max})")
                if have_faiss:
                    results.append(("faiss IndexBinaryFlat range",
                                    *timed(lambda: faiss_pairs(codes, radius))))
                for name, s, cpu, (h, p) in results:
                    if h is not None and not np.array_equal(h, c_hist):
                        raise SystemExit(f"{name}: histogram differs from the C loop")
                    if len(p[0]) != len(c_pairs[0]):
                        raise SystemExit(f"{name}: {len(p[0])} pairs, C loop {len(c_pairs[0])}")
                    rows.append((n, n_bits, radius, len(p[0]), name, s, cpu,
                                 n_pairs / s, c_s / s, c_cpu / cpu))
                _print_rows(rows[-len(results):], header=len(rows) == len(results))
    return 0


def mih_sweep(n: int, bits: list[int], threads: int) -> int:
    """Wall seconds of radius_pairs per method and radius; all must agree."""
    print(f"{'N':>9} {'bits':>4} {'T':>3} {'pairs<=T':>9} {'MIH candidates':>15} "
          f"{'brute s':>8} {'mih s':>8} {'auto s':>8}")
    for n_bits in bits:
        codes = make_codes(n, n_bits)
        radius_pairs(codes[:3000], 2, method="mih")  # compile before timing
        for radius in range(0, n_bits // 8 + 1, max(1, n_bits // 64)):
            times, found = {}, {}
            for method in ("brute", "mih", "auto"):
                times[method], _, found[method] = timed(
                    lambda: radius_pairs(codes, radius, method=method, n_threads=threads))
            if not all(np.array_equal(found[m][1], found["brute"][1]) for m in found):
                raise SystemExit(f"radius {radius}: methods disagree")
            candidates = _mih.build_index(codes, radius).n_candidates
            print(f"{n:>9} {n_bits:>4} {radius:>3} {len(found['brute'][0]):>9} "
                  f"{candidates:>15} {times['brute']:>8.3f} {times['mih']:>8.3f} "
                  f"{times['auto']:>8.3f}", flush=True)
    return 0


def _print_rows(rows, header):
    if header:
        print(f"{'N':>9} {'bits':>4} {'T':>3} {'pairs<=T':>9} {'implementation':<28} "
              f"{'wall s':>9} {'CPU s':>9} {'pairs/s':>10} {'x C':>6} {'x C CPU':>8}")
    for n, bits, radius, found, name, s, cpu, rate, ratio, cpu_ratio in rows:
        print(f"{n:>9} {bits:>4} {radius:>3} {found:>9} {name:<28} {s:>9.3f} {cpu:>9.3f} "
              f"{rate:>10.3g} {ratio:>6.2f} {cpu_ratio:>8.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
