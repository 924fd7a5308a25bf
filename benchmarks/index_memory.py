"""Resident memory of the retrieval index: lists filled by appending against lists
allocated at their final length (what ``DescriptorIndex.grow`` does).

Each way runs in a fresh process on the same random ORB-sized descriptors (32 bytes)
and reports the growth of the resident set while the inverted file is filled, beside
the raw size of its entries (32-byte codes and 8-byte ids), and a digest of the
serialised index (the two must hold the same bytes)::

    python benchmarks/index_memory.py --descriptors 3000000
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys

import numpy as np

from _common import rss_mb


def measure(way: str, n: int) -> dict:
    """Fill an index of ``n`` descriptors one ``way`` ("append" or "allocated")."""
    import faiss
    from mmselfsup_ext.dedup import retrieval

    rows = np.random.default_rng(0).integers(0, 256, (n, 32), dtype=np.uint8)
    ids = np.arange(n, dtype=np.int64)
    blocks = [rows[k:k + 300] for k in range(0, n, 300)]
    image_ids = np.arange(len(blocks))
    before = rss_mb()
    if way == "allocated":
        index = retrieval.DescriptorIndex()
        index.grow(image_ids, blocks)
        ivf = index.index
    else:
        nlist = retrieval._nlist_for(n)
        centres = retrieval._content_sample(rows, nlist)
        ivf = faiss.IndexBinaryIVF(retrieval._coarse_quantizer(centres, 256), 256, nlist)
        ivf.is_trained = True
        ivf.nprobe = retrieval.NPROBE
        stacked_ids = retrieval._stack(image_ids, blocks)[0]
        for start in range(0, n, retrieval._QUERY_BATCH):
            ivf.add_with_ids(rows[start:start + retrieval._QUERY_BATCH],
                             stacked_ids[start:start + retrieval._QUERY_BATCH])
    grown = rss_mb() - before
    digest = hashlib.sha256(faiss.serialize_index_binary(ivf).tobytes()).hexdigest()[:16]
    return {"way": way, "mb": grown, "raw_mb": n * 40 / 2**20, "digest": digest,
            "ntotal": int(ivf.ntotal)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--descriptors", type=int, default=3_000_000,
                        help="descriptors indexed (default 3,000,000: 10,000 images of 300)")
    args = parser.parse_args(argv)
    print("| lists | index MB (resident growth) | raw entries MB | index sha256 |")
    print("|---|---:|---:|---|")
    for way in ("append", "allocated"):
        proc = subprocess.run([sys.executable, __file__, "--_measure", way,
                               str(args.descriptors)], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        name = "filled by appending" if way == "append" else "allocated at final length"
        print(f"| {name} | {r['mb']:.0f} | {r['raw_mb']:.0f} | {r['digest']} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--_measure":
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
        sys.exit(0)
    sys.exit(main())
