"""Score a deduplication output folder against a flight's ground truth (docs/design.md §6).

Definitions (``t`` = overlap threshold, 0.5 by default):

- A pair of shots is a *true duplicate* iff its ground-truth overlap is ``>= t``; pairs
  absent from ``ground_truth.json`` have overlap 0.
- *Candidate metrics* (``precision``, ``recall``, ``f1``, ``auc``) are over the rows of
  ``<tag>/pairs.csv``: predicted duplicate = its ``duplicate`` column, AUC = ROC-AUC of
  ``-distance`` against the truth. ``recall_all`` = found true pairs / every true pair in
  the ground truth (pairs never proposed count as predicted non-duplicates, which is right
  for ``--pairing all``, whose pairs.csv omits far pairs); ``f1_all`` combines it with
  ``precision``. Undefined ratios (0/0) are ``None``.
- ``dedup_rate`` = removed / (kept + removed).
- ``ideal_dedup_rate``: ``1 - |K| / N`` for a greedy *dominating set* ``K`` of the
  true-duplicate graph over all ground-truth shots: every removed shot has a kept shot it
  overlaps by ``>= t``, the same criterion that defines a duplicate. Greedy picks the shot
  that dominates the most not-yet-dominated shots (ties: capture order); it is within a
  factor ``ln(max degree + 1)`` of the minimum and near-optimal on strip chains.
  ``component_dedup_rate`` = ``1 - components / N`` is what a perfect detector gives under
  the pipeline's keep-one-per-connected-component policy (it over-removes on chained
  strips, so ``ideal_coverage`` and ``component_coverage`` are reported too).
- ``coverage`` = area(union of kept footprints) / area(union of all ground-truth
  footprints), rasterised on a :class:`~.geometry.CoverageGrid` (cell centres sampled;
  exact for grid-aligned rectangles, otherwise within about one cell along the union's
  boundary). Shots that were neither kept nor removed (e.g. unreadable) count as lost.
"""
from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from scipy.stats import rankdata

from .geometry import CoverageGrid, as_polygon

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


@dataclass(frozen=True)
class GroundTruth:
    """Parsed ``ground_truth.json``.

    Attributes
    ----------
    files : list of str
        Shot file names in capture order.
    footprints : list of numpy.ndarray
        ``(4, 2)`` surface corners per shot.
    overlaps : dict
        ``(i, j) -> overlap`` for ``i < j`` (shot indices into ``files``), overlap > 0.
    overlap_threshold : float
        The threshold the flight was written with.
    """

    files: list[str]
    footprints: list[np.ndarray]
    overlaps: dict[tuple[int, int], float]
    overlap_threshold: float

    def index(self) -> dict[str, int]:
        """Map shot file name to its index."""
        return {name: k for k, name in enumerate(self.files)}


def load_ground_truth(source: str | Path | Mapping[str, Any]) -> GroundTruth:
    """Read and validate a flight's ground truth.

    Parameters
    ----------
    source : str, pathlib.Path or mapping
        Path of ``ground_truth.json`` or its already-parsed content.

    Returns
    -------
    GroundTruth

    Raises
    ------
    ValueError
        If the file is unreadable or does not follow the contract schema.
    """
    if isinstance(source, Mapping):
        data = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read ground truth {source}: {exc}") from exc
    try:
        shots = data["shots"]
        files = [str(s["file"]) for s in shots]
        footprints = [as_polygon(s["footprint"]) for s in shots]
        index = {name: k for k, name in enumerate(files)}
        if len(index) != len(files):
            raise ValueError("shot file names are not unique")
        overlaps: dict[tuple[int, int], float] = {}
        for pair in data["pairs"]:
            i, j = index[pair["a"]], index[pair["b"]]
            ov = float(pair["overlap"])
            if i == j or not 0.0 <= ov <= 1.0:
                raise ValueError(f"bad pair {pair}")
            overlaps[(min(i, j), max(i, j))] = ov
        threshold = float(data.get("overlap_threshold", 0.5))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"ground truth does not follow the schema: missing/bad {exc}") from exc
    if not files:
        raise ValueError("ground truth lists no shots")
    return GroundTruth(files, footprints, overlaps, threshold)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """ROC-AUC by the Mann-Whitney statistic, ties counted as one half.

    Parameters
    ----------
    scores : numpy.ndarray
        Higher = more likely positive.
    labels : numpy.ndarray
        Boolean truth.

    Returns
    -------
    float or None
        None when only one class is present.

    Examples
    --------
    >>> roc_auc(np.array([3, 2, 2, 1]), np.array([True, True, False, False]))
    0.875
    """
    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def greedy_dominating_set(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Greedy dominating set: every vertex is in the set or adjacent to a member.

    Parameters
    ----------
    n : int
        Number of vertices.
    edges : sequence of (int, int)
        Undirected edges.

    Returns
    -------
    list of int
        Chosen vertices, sorted ascending.

    Examples
    --------
    >>> greedy_dominating_set(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    [1, 3]
    """
    closed = [{v} for v in range(n)]
    for a, b in edges:
        closed[a].add(b)
        closed[b].add(a)
    undominated = set(range(n))
    chosen: list[int] = []
    # Lazy greedy: gains only shrink, so a popped vertex whose recomputed gain still
    # matches its key is the best; (-gain, index) order breaks ties by capture order.
    heap = [(-len(c), v) for v, c in enumerate(closed)]
    heapq.heapify(heap)
    while undominated:
        neg_gain, v = heapq.heappop(heap)
        gain = len(closed[v] & undominated)
        if gain == -neg_gain:
            chosen.append(v)
            undominated -= closed[v]
        elif gain > 0:
            heapq.heappush(heap, (-gain, v))
    return sorted(chosen)


def _components(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Connected-component label per vertex: the smallest index in its component."""
    parent = list(range(n))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(v) for v in range(n)])


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise ValueError(f"missing {path}")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _shot_index(rel_path: str, index: Mapping[str, int], where: Path) -> int:
    # Shot names are unique per flight, so the last path component identifies a shot
    # whether the dedup run was pointed at images/ or at the flight folder.
    name = PurePosixPath(rel_path.replace("\\", "/")).name
    if name not in index:
        raise ValueError(f"{where}: {rel_path!r} is not a shot of this ground truth")
    return index[name]


def _read_pairs(path: Path, index: Mapping[str, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pair indices, distances and duplicate flags of a ``pairs.csv``."""
    if not path.is_file():
        raise ValueError(f"missing {path}")
    ii, jj, dist, dup = [], [], [], []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"path_a", "path_b", "distance", "duplicate"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        for row in reader:
            flag = row["duplicate"].strip().lower()
            if flag not in _TRUE | _FALSE:
                raise ValueError(f"{path}: duplicate must be 1/0/true/false, "
                                 f"got {row['duplicate']!r}")
            try:
                distance = float(row["distance"])
            except ValueError as exc:
                raise ValueError(f"{path}: bad distance {row['distance']!r}") from exc
            ii.append(_shot_index(row["path_a"], index, path))
            jj.append(_shot_index(row["path_b"], index, path))
            dist.append(distance)
            dup.append(flag in _TRUE)
    return (np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64),
            np.array(dist, dtype=np.float64), np.array(dup, dtype=bool))


def ground_truth_reference(gt: GroundTruth, overlap_threshold: float, grid: CoverageGrid,
                           total_area: float) -> dict[str, Any]:
    """Run-independent numbers: true pairs, ideal and component dedup rates and coverages."""
    n = len(gt.files)
    edges = [pair for pair, ov in gt.overlaps.items() if ov >= overlap_threshold]
    ideal = greedy_dominating_set(n, edges)
    labels = _components(n, edges)
    first_of_component = sorted(set(labels.tolist()))
    return {
        "n_shots": n,
        "n_true_pairs": len(edges),
        "ideal_dedup_rate": 1.0 - len(ideal) / n,
        "ideal_coverage": grid.union_area([gt.footprints[k] for k in ideal]) / total_area,
        "component_dedup_rate": 1.0 - len(first_of_component) / n,
        "component_coverage": grid.union_area([gt.footprints[k] for k in first_of_component])
        / total_area,
    }


def score_tag(tag_dir: str | Path, gt: GroundTruth, overlap_threshold: float,
              grid: CoverageGrid, total_area: float) -> dict[str, Any]:
    """Metrics of one ``<tag>/`` folder (see the module docstring for definitions)."""
    tag_dir = Path(tag_dir)
    index = gt.index()
    keep = [_shot_index(p, index, tag_dir / "keep.txt") for p in _read_list(tag_dir / "keep.txt")]
    remove = [_shot_index(p, index, tag_dir / "remove.txt")
              for p in _read_list(tag_dir / "remove.txt")]
    ii, jj, dist, pred = _read_pairs(tag_dir / "pairs.csv", index)
    truth = np.array([gt.overlaps.get((min(a, b), max(a, b)), 0.0) >= overlap_threshold
                      for a, b in zip(ii.tolist(), jj.tolist())], dtype=bool)
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    n_true = sum(ov >= overlap_threshold for ov in gt.overlaps.values())
    found = {(min(a, b), max(a, b)) for a, b, p, t in zip(ii.tolist(), jj.tolist(), pred, truth)
             if p and t}
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    recall_all = _ratio(len(found), n_true)
    n_images = len(keep) + len(remove)
    summary_path = tag_dir / "summary.json"
    threshold = None
    if summary_path.is_file():
        try:
            threshold = json.loads(summary_path.read_text(encoding="utf-8")).get("threshold")
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read {summary_path}: {exc}") from exc
    return {
        "hash_threshold": threshold,
        "n_images": n_images,
        "n_kept": len(keep),
        "n_removed": len(remove),
        "n_candidate_pairs": int(len(ii)),
        "n_predicted_duplicates": int(pred.sum()),
        "tp": tp, "fp": fp, "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "recall_all": recall_all,
        "f1_all": _f1(precision, recall_all),
        "auc": roc_auc(-dist, truth),
        "dedup_rate": _ratio(len(remove), n_images),
        "coverage": grid.union_area([gt.footprints[k] for k in keep]) / total_area,
    }


def find_tags(output_dir: str | Path) -> list[str]:
    """Names of the ``<tag>/`` sub-folders (those holding a ``pairs.csv``), sorted."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} does not exist")
    return sorted(p.name for p in output_dir.iterdir() if (p / "pairs.csv").is_file())


def score_dedup(output_dir: str | Path, ground_truth: str | Path | Mapping[str, Any],
                overlap_threshold: float = 0.5,
                coverage_cell: float | None = None) -> dict[str, dict[str, Any]]:
    """Score every ``<tag>/`` of a dedup output folder against a flight's ground truth.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        Folder written by a dedup script (``<tag>/pairs.csv``, ``keep.txt``,
        ``remove.txt``, ``summary.json``).
    ground_truth : str, pathlib.Path or mapping
        ``ground_truth.json`` (path or parsed) of the flight that was deduplicated.
    overlap_threshold : float
        A pair is a true duplicate iff its overlap is ``>=`` this, in (0, 1].
    coverage_cell : float, optional
        Coverage raster cell side in surface pixels; default: the smallest whole number
        keeping the raster under 4 million cells (1 px for the real photo's halves).

    Returns
    -------
    dict
        ``tag -> metrics`` (module docstring), each also holding the run-independent
        ``n_shots``, ``n_true_pairs``, ``ideal_dedup_rate``, ``ideal_coverage``,
        ``component_dedup_rate``, ``component_coverage`` and ``coverage_cell``.

    Raises
    ------
    ValueError
        If a file is missing or malformed, no tag is found, or a listed path is not a
        shot of the ground truth.
    """
    if not 0.0 < overlap_threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
    gt = load_ground_truth(ground_truth)
    tags = find_tags(output_dir)
    if not tags:
        raise ValueError(f"no <tag>/pairs.csv found in {output_dir}")
    grid = CoverageGrid.around(gt.footprints, cell=coverage_cell)
    total = grid.union_area(gt.footprints)
    reference = ground_truth_reference(gt, overlap_threshold, grid, total)
    reference["coverage_cell"] = grid.cell
    return {tag: {**score_tag(Path(output_dir) / tag, gt, overlap_threshold, grid, total),
                  **reference} for tag in tags}


TABLE_COLUMNS = (("precision", "prec"), ("recall", "recall"), ("f1", "F1"),
                 ("recall_all", "rec_all"), ("f1_all", "F1_all"), ("auc", "AUC"),
                 ("dedup_rate", "dedup"), ("ideal_dedup_rate", "ideal"),
                 ("coverage", "coverage"))


def format_table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """Plain-text table: one row per tag, the columns of :data:`TABLE_COLUMNS`."""
    width = max([len("tag")] + [len(t) for t in scores])
    head = f"{'tag':<{width}} " + " ".join(f"{label:>8}" for _, label in TABLE_COLUMNS)
    lines = [head]
    for tag, metrics in scores.items():
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = metrics.get(key)
            cells.append(f"{'n/a':>8}" if value is None else f"{value:>8.3f}")
        lines.append(f"{tag:<{width}} " + " ".join(cells))
    return "\n".join(lines)
