"""pycolmap's pair finding and verification on a simulated survey, scored against ground truth.

The peer the issue asks for beside the pipeline's own retrieval (``benchmarks/retrieval.py``):
COLMAP's matching as pycolmap exposes it, run on the images of a survey written by
``tools/simulate_survey.py`` and scored with the pipeline's definitions (a pair is a true
duplicate iff its ground-truth overlap >= 0.5; shots of different walls and unrelated photos
never are).

What it does:

1. ``pycolmap.extract_features``: SIFT (CPU, COLMAP defaults: up to 8192 features, no
   resizing) of every image into ``OUT/features.db``, one COLMAP database.
2. Per ``--modes`` entry, on a copy of that database: descriptor matching
   (``match_exhaustive`` / ``match_vocabtree`` / ``match_sequential`` with
   ``skip_geometric_verification``), then ``pycolmap.geometric_verification`` of every
   matched pair (COLMAP's two-view geometry: F, E and H by RANSAC, a pair is verified with
   >= ``--min-inliers`` inlier matches, COLMAP's own default 15), timed separately:

   - ``exhaustive``: every pair, the reference at this N (quadratic: 48 min for 551
     images on 2 cores shared with other jobs, the whole default run 80 min);
   - ``vocabtree``: COLMAP's retrieval (vocabulary tree with Hamming embedding,
     ``VocabTreePairingOptions.num_images`` = each ``--num-images`` value, one row each).
     pycolmap's default tree is a file it downloads from GitHub at run time, so offline
     the tree is built here with pycolmap's API (``VisualIndex.create().build()``, what
     ``colmap vocab_tree_builder`` does: faiss k-means) from a random sample of this
     survey's own descriptors: transductive, which flatters it if anything. The builder's
     defaults (65536 words, 3 rounds of 100 iterations) would take hours on 2 cores, so
     ``--vocab-words 4096 --vocab-rounds 1 --vocab-iterations 20`` by default (about 2
     minutes for 200000 descriptors); ``--vocab-tree FILE`` uses a tree file instead;
   - ``sequential``: each image with the next ``overlap`` (10) in file-name order plus the
     quadratic ones; with shuffled names, a random pairing;
   - ``sequential-loop``: the same plus loop detection through the vocabulary tree above;
   - ``vocabtree-default``: pycolmap's default tree, tried in a subprocess on a two-image
     database. Offline its download fails and COLMAP aborts the whole process (SIGABRT
     from a worker thread, not a Python exception), so it is never called in this process;
     the row prints the reason.

3. Scores each mode: pairs matched; candidate recall = true duplicates among the pairs
   matched, and among the pairs verified (>= ``--min-inliers`` inliers); two decisions
   from pycolmap's verified geometry, each with precision, recall and F1 over ALL true
   pairs: ``inliers``: duplicate iff verified (inlier count >= ``--min-inliers``, no
   overlap estimate), and ``H overlap``: duplicate iff the two-view geometry's homography
   maps image 1's outline onto image 2 with overlap (shared surface / smaller footprint,
   the pipeline's ``overlap_fraction``) >= ``--min-overlap``; verified pairs without a
   usable homography count as non-duplicates (their number is printed). Seconds per
   image of each stage: extraction, tree build, matching, verification.

pycolmap is not a project dependency. Install it like the other peers, never into the
project's .venv (its only requirement, numpy, is already there)::

    .venv/bin/python -m pip install --no-deps --target .bench_venv/site \\
        -r benchmarks/requirements-bench.txt

Example (a 543-shot survey with 8 unrelated photos, shuffled names)::

    .venv/bin/python tools/simulate_survey.py --out work_dirs/survey500 --walls 6 \\
        --distractors 8 --shuffle-names --seed 500
    PYTHONPATH=.bench_venv/site .venv/bin/python benchmarks/pycolmap_matching.py \\
        --out work_dirs/pycolmap --survey work_dirs/survey500
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mmselfsup_ext.dedup.verify.geometry import overlap_fraction, warp_outline
from mmselfsup_ext.evaluation import load_ground_truth

MODES = ("exhaustive", "vocabtree", "sequential", "sequential-loop", "vocabtree-default")


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="working folder (databases, tree, results.json)")
    parser.add_argument("--survey", type=Path, required=True,
                        help="survey folder: images/ and ground_truth.json "
                             "(tools/simulate_survey.py)")
    parser.add_argument("--modes", nargs="+", choices=MODES,
                        default=["vocabtree", "sequential", "vocabtree-default", "exhaustive"],
                        help="matching modes, run in this order (default: vocabtree "
                             "sequential vocabtree-default exhaustive)")
    parser.add_argument("--num-images", type=int, nargs="+", default=[10, 30, 100],
                        help="vocabtree: images retrieved per query, one row each "
                             "(default 10 30 100; COLMAP's default is 100)")
    parser.add_argument("--vocab-tree", type=Path, default=None,
                        help="vocabulary tree file to use instead of building one")
    parser.add_argument("--vocab-words", type=int, default=4096,
                        help="visual words of the tree built offline (default 4096)")
    parser.add_argument("--vocab-descriptors", type=int, default=200_000,
                        help="random descriptors the tree is built from (default 200000)")
    parser.add_argument("--vocab-rounds", type=int, default=1,
                        help="k-means restarts of the tree build (default 1)")
    parser.add_argument("--vocab-iterations", type=int, default=20,
                        help="k-means iterations of the tree build (default 20)")
    parser.add_argument("--min-inliers", type=int, default=15,
                        help="a pair is verified with at least this many inlier matches "
                             "(default 15, COLMAP's min_num_inliers)")
    parser.add_argument("--min-overlap", type=float, default=0.5,
                        help="H overlap decision: duplicate iff overlap >= this (default 0.5)")
    parser.add_argument("--threads", type=int, default=2, help="pycolmap threads (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="RANSAC and sampling seed")
    parser.add_argument("--probe-timeout", type=int, default=300,
                        help="seconds the vocabtree-default subprocess may take (default 300)")
    return parser


def import_pycolmap():
    """pycolmap, or exit with the install command."""
    try:
        import pycolmap
    except ImportError:
        sys.exit("pycolmap is not importable; install it per this script's docstring and run "
                 "with PYTHONPATH=.bench_venv/site")
    pycolmap.logging.minloglevel = 2  # errors only: INFO would interleave with the table
    return pycolmap


def extract(pycolmap, images: Path, db: Path, threads: int) -> float:
    """SIFT of every image into ``db``; seconds."""
    options = pycolmap.FeatureExtractionOptions()
    options.num_threads = threads
    start = time.perf_counter()
    pycolmap.extract_features(db, images, camera_mode=pycolmap.CameraMode.AUTO,
                              extraction_options=options, device=pycolmap.Device.cpu)
    return time.perf_counter() - start


def build_tree(pycolmap, db: Path, path: Path, args: argparse.Namespace) -> float:
    """A vocabulary tree from a random sample of ``db``'s descriptors; seconds."""
    start = time.perf_counter()
    with pycolmap.Database.open(db) as database:
        desc = np.concatenate([database.read_descriptors(image.image_id).data
                               for image in database.read_all_images()])
    rng = np.random.default_rng(args.seed)
    if len(desc) > args.vocab_descriptors:
        desc = desc[rng.choice(len(desc), args.vocab_descriptors, replace=False)]
    options = pycolmap.VisualIndex.BuildOptions()
    options.num_visual_words = args.vocab_words
    options.num_rounds = args.vocab_rounds
    options.num_iterations = args.vocab_iterations
    options.num_threads = args.threads
    index = pycolmap.VisualIndex.create(128, 64)
    # The float conversion the pairing code applies before indexing (FeatureDescriptors.ToFloat).
    index.build(options, pycolmap.FeatureDescriptorsFloat(
        pycolmap.FeatureExtractorType.SIFT, desc.astype(np.float32)))
    index.write(path)
    return time.perf_counter() - start


def match(pycolmap, db: Path, mode: str, args: argparse.Namespace, tree: Path | None,
          num_images: int) -> tuple[float, float]:
    """Descriptor matching of ``mode``'s pairs, then geometric verification; seconds of each."""
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = args.threads
    matching.skip_geometric_verification = True
    kwargs = {"matching_options": matching, "device": pycolmap.Device.cpu}
    start = time.perf_counter()
    if mode == "exhaustive":
        pycolmap.match_exhaustive(db, **kwargs)
    elif mode == "vocabtree":
        pairing = pycolmap.VocabTreePairingOptions()
        pairing.vocab_tree_path = str(tree)
        pairing.num_images = num_images
        pairing.num_threads = args.threads
        pycolmap.match_vocabtree(db, pairing_options=pairing, **kwargs)
    else:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.num_threads = args.threads
        if mode == "sequential-loop":
            pairing.loop_detection = True
            pairing.vocab_tree_path = str(tree)
        pycolmap.match_sequential(db, pairing_options=pairing, **kwargs)
    matched = time.perf_counter() - start
    verifier = pycolmap.GeometricVerifierOptions()
    verifier.num_threads = args.threads
    geometry = pycolmap.TwoViewGeometryOptions()
    geometry.min_num_inliers = args.min_inliers
    geometry.ransac.random_seed = args.seed
    start = time.perf_counter()
    pycolmap.geometric_verification(db, verifier_options=verifier,
                                    two_view_geometry_options=geometry)
    return matched, time.perf_counter() - start


def probe_default_tree(pycolmap, images: Path, out: Path, timeout: int) -> dict:
    """Try ``match_vocabtree`` with pycolmap's default tree in a subprocess (it may abort)."""
    db = out / "default_tree_probe.db"
    db.unlink(missing_ok=True)
    names = sorted(p.name for p in images.iterdir() if p.is_file())[:2]
    pycolmap.extract_features(db, images, image_names=names, device=pycolmap.Device.cpu)
    code = ("import pycolmap; print(pycolmap.VocabTreePairingOptions().vocab_tree_path); "
            f"pycolmap.match_vocabtree({str(db)!r}, device=pycolmap.Device.cpu); print('OK')")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "reason": f"no answer within {timeout} s"}
    if proc.returncode == 0 and "OK" in proc.stdout:
        return {"ok": True, "reason": "the default tree was obtained (network or cache); pass "
                                      "its file as --vocab-tree to use it on the survey"}
    lines = [line.strip() for line in proc.stderr.splitlines()]
    url = next((line.split("for: ", 1)[1].split(". Retrying")[0] for line in lines
                if "failed for: " in line), None)
    curl = next((line.split("]", 1)[1].strip() for line in lines if "Curl failed" in line), "")
    what = next((line.split("]", 1)[-1].strip() for line in lines if "what():" in line),
                lines[-1] if lines else "")
    signal = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
    reason = (f"downloads {url or 'its tree'} at run time; offline: {curl or 'no download'}; "
              f"'{what}', process killed ({signal})")
    return {"ok": False, "reason": reason}


def score(pycolmap, db: Path, gt, truth: set[tuple[int, int]], min_inliers: int,
          min_overlap: float) -> dict:
    """Pairs matched and verified in ``db``, judged against the ground truth."""
    with pycolmap.Database.open(db) as database:
        index = gt.image_index()
        cameras = {c.camera_id: (c.width, c.height) for c in database.read_all_cameras()}
        shot, size = {}, {}
        for image in database.read_all_images():
            shot[image.image_id] = index[image.name]
            size[image.image_id] = cameras[image.camera_id]
        pair_ids, geometries = database.read_two_view_geometries()
        decode = pycolmap.pair_id_to_image_pair

        def key(pair_id: int) -> tuple[int, int]:
            a, b = decode(pair_id)
            return tuple(sorted((shot[a], shot[b])))

        verified, by_h, no_h = set(), set(), 0
        for pair_id, geometry in zip(pair_ids, geometries):
            if len(geometry.inlier_matches) < min_inliers:
                continue
            pair = key(pair_id)
            verified.add(pair)
            a, b = decode(pair_id)
            h = None if geometry.H is None else np.asarray(geometry.H, dtype=np.float64)
            # COLMAP's H (image a pixels -> image b pixels) is up to scale, sign included
            # (h[2, 2] < 0 is common); warp_outline needs positive homogeneous w.
            quad = None if h is None or abs(h[2, 2]) < 1e-12 else warp_outline(h / h[2, 2],
                                                                                size[a])
            if quad is None:
                no_h += 1
            elif overlap_fraction(quad, size[b]) >= min_overlap:
                by_h.add(pair)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        matched = {key(int(row[0])) for row in con.execute("SELECT pair_id FROM matches")}

    def prf(found: set) -> dict:
        tp = len(found & truth)
        p = tp / len(found) if found else None
        r = tp / len(truth)
        return {"precision": p, "recall": r, "f1": 2 * tp / (len(found) + len(truth)),
                "n": len(found)}

    n_images = len(shot)
    return {"n_images": n_images, "n_true": len(truth), "pairs_matched": len(matched),
            "pairs_per_image": len(matched) / n_images,
            "fraction_matched": len(matched) / (n_images * (n_images - 1) / 2),
            "recall_matched": len(matched & truth) / len(truth),
            "pairs_verified": len(verified), "recall_verified": len(verified & truth) / len(truth),
            "inliers": prf(verified), "h_overlap": prf(by_h), "verified_without_h": no_h}


def fmt(x: float | None, digits: int = 4) -> str:
    """A ratio for the table ('n/a' when undefined)."""
    return "n/a" if x is None else f"{x:.{digits}f}"


def table(rows: dict, n_images: int) -> str:
    """Markdown table of every mode."""
    lines = ["| pycolmap mode | pairs matched | pairs/image | of all pairs | cand. recall "
             "(matched) | verified (>= min inliers) | cand. recall (verified) | P / R / F1: "
             "inliers | P / R / F1: H overlap | s/image: extract + tree + match + verify "
             "| total s/image |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|"]
    for name, r in rows.items():
        if "reason" in r:
            lines.append(f"| {name} | {'ran' if r['ok'] else 'impossible offline'}: "
                         f"{r['reason']} |" + " |" * 9)
            continue
        s = r["seconds"]
        per = [s["extract"] / n_images, s["tree"] / n_images, s["match"] / n_images,
               s["verify"] / n_images]
        prf = ["{} / {} / {}".format(*(fmt(r[k][m], 3) for m in ("precision", "recall", "f1")))
               for k in ("inliers", "h_overlap")]
        lines.append(
            f"| {name} | {r['pairs_matched']} | {r['pairs_per_image']:.1f} "
            f"| {r['fraction_matched']:.4f} | {r['recall_matched']:.4f} | {r['pairs_verified']} "
            f"| {r['recall_verified']:.4f} | {prf[0]} | {prf[1]} "
            f"| {' + '.join(f'{x:.3f}' for x in per)} | {sum(per):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pycolmap = import_pycolmap()
    pycolmap.set_random_seed(args.seed)
    images = args.survey / "images"
    gt = load_ground_truth(args.survey / "ground_truth.json")
    truth = {(min(a, b), max(a, b)) for (a, b), ov in gt.overlaps.items()
             if ov >= gt.overlap_threshold}
    args.out.mkdir(parents=True, exist_ok=True)
    features = args.out / "features.db"
    features.unlink(missing_ok=True)
    print(f"pycolmap {pycolmap.__version__}: SIFT of {images} ...", file=sys.stderr, flush=True)
    extract_s = extract(pycolmap, images, features, args.threads)
    with pycolmap.Database.open(features) as database:
        n_images = database.num_images()
        n_keypoints = database.num_keypoints()
    tree, tree_s = args.vocab_tree, 0.0
    if tree is None and {"vocabtree", "sequential-loop"} & set(args.modes):
        tree = args.out / "vocab_tree.bin"
        print(f"building a {args.vocab_words}-word tree ...", file=sys.stderr, flush=True)
        tree_s = build_tree(pycolmap, features, tree, args)
    rows: dict[str, dict] = {}
    for mode in args.modes:
        if mode == "vocabtree-default":
            name = "vocabtree, default tree"
            rows[name] = probe_default_tree(pycolmap, images, args.out, args.probe_timeout)
            print(table({name: rows[name]}, n_images).splitlines()[-1], file=sys.stderr,
                  flush=True)
        else:
            for k in (args.num_images if mode == "vocabtree" else [None]):
                name = mode if k is None else f"vocabtree, num_images={k}"
                if mode in ("vocabtree", "sequential-loop"):
                    name += " (tree built offline)" if args.vocab_tree is None else ""
                db = args.out / f"{mode}{'' if k is None else k}.db"
                shutil.copy(features, db)
                print(f"{name} ...", file=sys.stderr, flush=True)
                match_s, verify_s = match(pycolmap, db, mode, args, tree, k or 0)
                uses_tree = mode in ("vocabtree", "sequential-loop")
                rows[name] = {**score(pycolmap, db, gt, truth, args.min_inliers,
                                      args.min_overlap),
                              "seconds": {"extract": extract_s,
                                          "tree": tree_s if uses_tree else 0.0,
                                          "match": match_s, "verify": verify_s}}
                print(table({name: rows[name]}, n_images).splitlines()[-1], file=sys.stderr,
                      flush=True)
        # After every mode, so an interrupted run (exhaustive is long) keeps the others.
        (args.out / "results.json").write_text(json.dumps(
            {"pycolmap": pycolmap.__version__, "n_images": n_images, "n_keypoints": n_keypoints,
             "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    print(f"pycolmap {pycolmap.__version__}, {n_images} images ({n_keypoints} SIFT keypoints), "
          f"{len(truth)} true pairs (overlap >= {gt.overlap_threshold:g}), "
          f"{args.threads} threads, min inliers {args.min_inliers}, H overlap >= "
          f"{args.min_overlap:g}; verified pairs without a usable H: "
          + ", ".join(f"{k}: {r['verified_without_h']}" for k, r in rows.items()
                      if "verified_without_h" in r))
    print(table(rows, n_images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
