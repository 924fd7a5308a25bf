"""Score a deduplication output folder against a flight's or survey's ground truth (docs/design.md §6).

Definitions (``t`` = overlap threshold, 0.5 by default):

- A pair of shots is a *true duplicate* iff its ground-truth overlap is ``>= t``; pairs
  absent from ``ground_truth.json`` have overlap 0, so shots of different walls and
  distractors (unrelated photos of a survey) are never true duplicates.
- *Candidate metrics* (``precision``, ``recall``, ``f1``, ``auc``) are over the rows of
  ``<tag>/pairs.csv``: predicted duplicate = its ``duplicate`` column, AUC = ROC-AUC of
  ``-distance`` against the truth. ``recall_all`` = found true pairs / every true pair in
  the ground truth (pairs never proposed count as predicted non-duplicates, which is right
  for ``--pairing all``, whose pairs.csv omits far pairs); ``f1_all`` combines it with
  ``precision``. Undefined ratios (0/0) are ``None``.
- ``dedup_rate`` = removed / (kept + removed). ``n_distractors_removed`` counts
  distractors in ``remove.txt`` (0 for a good method: they are never duplicates).
- Reference choices from the ground truth remove shots only (every distractor is kept);
  their rates are removed / ``N``, ``N`` = shots + distractors, like ``dedup_rate``:

  - ``ideal_dedup_rate``: removes all but a greedy *dominating set* ``K`` of the
    true-duplicate graph: every removed shot has a kept shot it overlaps by ``>= t``, the
    same criterion that defines a duplicate. Greedy picks the shot that dominates the most
    not-yet-dominated shots (ties: capture order); it is within a factor
    ``ln(max degree + 1)`` of the minimum and near-optimal on strip chains.
  - ``component_dedup_rate``: keeps one shot per connected component, what a perfect
    detector gives under the pipeline's ``component`` policy (it over-removes on chained
    strips, so ``ideal_coverage`` and ``component_coverage`` are reported too).
  - ``ideal_coverage_dedup_rate`` (``ideal_coverage_removed`` shots): the *ideal
    coverage-preserving choice* (docs/design.md §5): shots are visited in reverse capture order
    and one is dropped whenever the shots still kept cover at least ``cover_fraction``
    (0.999) of its footprint on the coverage raster; ``ideal_coverage_retained`` is its
    coverage (about 1). ``removed_vs_ideal`` = ``n_removed / ideal_coverage_removed``.

- ``coverage`` = area(union of kept footprints) / area(union of all ground-truth
  footprints), rasterised per wall on a :class:`~.geometry.CoverageGrid` (cell centres
  sampled; exact for grid-aligned rectangles, otherwise within about one cell along the
  union's boundary) and summed over walls, which have separate coordinates. Shots that
  were neither kept nor removed (e.g. unreadable) count as lost.
"""
from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ..geometry import as_polygon
from .geometry import CoverageGrid

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


@dataclass(frozen=True)
class GroundTruth:
    """Parsed ``ground_truth.json`` of a flight (one wall) or a survey.

    Attributes
    ----------
    files : list of str
        Shot file names in the order of the file's shot list.
    footprints : list of numpy.ndarray
        ``(4, 2)`` corners per shot, in the coordinates of its wall.
    overlaps : dict
        ``(i, j) -> overlap`` for ``i < j`` (shot indices into ``files``), overlap > 0.
    overlap_threshold : float
        The threshold the flight was written with.
    walls : list
        Wall id per shot (0 for every shot of a flight).
    capture_index : list of int
        Capture order per shot (a flight's shots are listed in capture order).
    distractors : list of str
        File names of unrelated photos: no footprint, never a duplicate.
    """

    files: list[str]
    footprints: list[np.ndarray]
    overlaps: dict[tuple[int, int], float]
    overlap_threshold: float
    walls: list[Hashable]
    capture_index: list[int]
    distractors: list[str]

    def index(self) -> dict[str, int]:
        """Map shot file name to its index."""
        return {name: k for k, name in enumerate(self.files)}

    def image_index(self) -> dict[str, int]:
        """Map every file name to an index: shots ``0..n-1``, then distractors."""
        return {name: k for k, name in enumerate(self.files + self.distractors)}


def load_ground_truth(source: str | Path | Mapping[str, Any]) -> GroundTruth:
    """Read and validate a flight's or a survey's ground truth.

    A flight's file (no ``wall``, ``capture_index`` or ``distractors``) reads as one wall
    flown in list order without distractors.

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
        walls = [s.get("wall", 0) for s in shots]
        if not all(isinstance(w, (int, str)) for w in walls):
            raise ValueError("a shot's wall id must be an integer or a string")
        capture = [int(s.get("capture_index", k)) for k, s in enumerate(shots)]
        if len(set(capture)) != len(capture):
            raise ValueError("capture_index values are not unique")
        distractors = [str(name) for name in data.get("distractors", [])]
        index = {name: k for k, name in enumerate(files)}
        if len(index) != len(files):
            raise ValueError("shot file names are not unique")
        if len(set(distractors) | set(files)) != len(files) + len(distractors):
            raise ValueError("distractor file names repeat or coincide with shot names")
        overlaps: dict[tuple[int, int], float] = {}
        for pair in data["pairs"]:
            i, j = index[pair["a"]], index[pair["b"]]
            ov = float(pair["overlap"])
            if i == j or not 0.0 <= ov <= 1.0:
                raise ValueError(f"bad pair {pair}")
            if walls[i] != walls[j]:
                raise ValueError(f"pair {pair} joins two walls, which share no surface")
            overlaps[(min(i, j), max(i, j))] = ov
        threshold = float(data.get("overlap_threshold", 0.5))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"ground truth does not follow the schema: missing/bad {exc}") from exc
    if not files:
        raise ValueError("ground truth lists no shots")
    return GroundTruth(files, footprints, overlaps, threshold, walls, capture, distractors)


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


def _image_index(rel_path: str, index: Mapping[str, int], where: Path) -> int:
    # File names are unique per flight or survey (shuffled ones too), so the last path
    # component identifies an image whether the dedup run was pointed at images/ or at the
    # flight folder.
    name = PurePosixPath(rel_path.replace("\\", "/")).name
    if name not in index:
        raise ValueError(f"{where}: {rel_path!r} is not a shot or distractor of this "
                         "ground truth")
    return index[name]


def _read_pairs(path: Path, index: Mapping[str, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Image indices, distances and duplicate flags of a ``pairs.csv``."""
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
            ii.append(_image_index(row["path_a"], index, path))
            jj.append(_image_index(row["path_b"], index, path))
            dist.append(distance)
            dup.append(flag in _TRUE)
    return (np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64),
            np.array(dist, dtype=np.float64), np.array(dup, dtype=bool))


class WallCoverage:
    """Union-of-footprint areas of a ground truth, per wall, summed over walls.

    Walls have separate coordinates, so each gets its own :class:`~.geometry.CoverageGrid`
    around its footprints; areas of shot sets add up over walls.

    Parameters
    ----------
    gt : GroundTruth
        Shots, footprints and wall ids.
    cell : float, optional
        Raster cell side in surface pixels; default per wall: the smallest whole number
        keeping that wall's raster under 4 million cells.
    """

    def __init__(self, gt: GroundTruth, cell: float | None = None) -> None:
        members: dict[Hashable, list[int]] = {}
        for k, wall in enumerate(gt.walls):
            members.setdefault(wall, []).append(k)
        self.footprints = gt.footprints
        self.capture_index = gt.capture_index
        self.walls = [(np.array(ks), CoverageGrid.around([gt.footprints[k] for k in ks],
                                                         cell=cell))
                      for ks in members.values()]
        #: The coarsest cell side over walls (they agree unless wall sizes differ).
        self.cell = max(grid.cell for _, grid in self.walls)
        self.total_area = sum(grid.union_area([gt.footprints[k] for k in ks])
                              for ks, grid in self.walls)

    def area(self, shots: Iterable[int]) -> float:
        """Area of the union of the footprints of ``shots`` (shot indices), all walls."""
        chosen = np.zeros(len(self.footprints), dtype=bool)
        chosen[list(shots)] = True
        return sum(grid.union_area([self.footprints[k] for k in ks[chosen[ks]]])
                   for ks, grid in self.walls)

    def fraction(self, shots: Iterable[int]) -> float:
        """Coverage retained by ``shots``: their union area / the union of all shots."""
        return self.area(shots) / self.total_area

    def coverage_preserving_keep(self, fraction: float = 0.999) -> np.ndarray:
        """The ideal coverage-preserving choice (module docstring) as a keep mask.

        Per wall, shots are visited in reverse capture order, so earlier shots are the
        ones kept, and dropped by :meth:`~.geometry.CoverageGrid.prune_covered`.
        """
        keep = np.zeros(len(self.footprints), dtype=bool)
        for ks, grid in self.walls:
            order = np.argsort([-self.capture_index[k] for k in ks], kind="stable")
            keep[ks] = grid.prune_covered([self.footprints[k] for k in ks], order, fraction)
        return keep


def ground_truth_reference(gt: GroundTruth, overlap_threshold: float, coverage: WallCoverage,
                           cover_fraction: float = 0.999) -> dict[str, Any]:
    """Run-independent numbers: true pairs and the reference choices' rates and coverages."""
    n = len(gt.files)
    n_images = n + len(gt.distractors)
    edges = [pair for pair, ov in gt.overlaps.items() if ov >= overlap_threshold]
    ideal = greedy_dominating_set(n, edges)
    labels = _components(n, edges)
    first_of_component = sorted(set(labels.tolist()))
    covering = np.flatnonzero(coverage.coverage_preserving_keep(cover_fraction))
    return {
        "n_shots": n,
        "n_distractors": len(gt.distractors),
        "n_true_pairs": len(edges),
        "ideal_dedup_rate": (n - len(ideal)) / n_images,
        "ideal_coverage": coverage.fraction(ideal),
        "component_dedup_rate": (n - len(first_of_component)) / n_images,
        "component_coverage": coverage.fraction(first_of_component),
        "ideal_coverage_removed": n - len(covering),
        "ideal_coverage_dedup_rate": (n - len(covering)) / n_images,
        "ideal_coverage_retained": coverage.fraction(covering.tolist()),
        "cover_fraction": cover_fraction,
        "coverage_cell": coverage.cell,
    }


def score_tag(tag_dir: str | Path, gt: GroundTruth, overlap_threshold: float,
              coverage: WallCoverage) -> dict[str, Any]:
    """Metrics of one ``<tag>/`` folder (see the module docstring for definitions)."""
    tag_dir = Path(tag_dir)
    index = gt.image_index()
    n_shots = len(gt.files)
    keep = [_image_index(p, index, tag_dir / "keep.txt")
            for p in _read_list(tag_dir / "keep.txt")]
    remove = [_image_index(p, index, tag_dir / "remove.txt")
              for p in _read_list(tag_dir / "remove.txt")]
    ii, jj, dist, pred = _read_pairs(tag_dir / "pairs.csv", index)
    # Distractor indices (>= n_shots) are in no ground-truth pair: overlap 0, never true.
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
        "n_distractors_removed": sum(k >= n_shots for k in remove),
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
        "coverage": coverage.fraction(k for k in keep if k < n_shots),
    }


def find_tags(output_dir: str | Path) -> list[str]:
    """Names of the ``<tag>/`` sub-folders (those holding a ``pairs.csv``), sorted."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} does not exist")
    return sorted(p.name for p in output_dir.iterdir() if (p / "pairs.csv").is_file())


def score_dedup(output_dir: str | Path, ground_truth: str | Path | Mapping[str, Any],
                overlap_threshold: float = 0.5, coverage_cell: float | None = None,
                cover_fraction: float = 0.999) -> dict[str, dict[str, Any]]:
    """Score every ``<tag>/`` of a dedup output folder against a flight's or survey's truth.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        Folder written by a dedup script (``<tag>/pairs.csv``, ``keep.txt``,
        ``remove.txt``, ``summary.json``).
    ground_truth : str, pathlib.Path or mapping
        ``ground_truth.json`` (path or parsed) of the flight or survey that was
        deduplicated.
    overlap_threshold : float
        A pair is a true duplicate iff its overlap is ``>=`` this, in (0, 1].
    coverage_cell : float, optional
        Coverage raster cell side in surface pixels; default per wall: the smallest whole
        number keeping its raster under 4 million cells (1 px for the real photo's halves).
    cover_fraction : float
        The ideal coverage-preserving choice drops a shot when the shots still kept cover
        at least this fraction of its footprint, in (0, 1].

    Returns
    -------
    dict
        ``tag -> metrics`` (module docstring), each also holding the run-independent
        ``n_shots``, ``n_distractors``, ``n_true_pairs``, ``ideal_dedup_rate``,
        ``ideal_coverage``, ``component_dedup_rate``, ``component_coverage``,
        ``ideal_coverage_removed``, ``ideal_coverage_dedup_rate``,
        ``ideal_coverage_retained``, ``cover_fraction`` and ``coverage_cell`` (the
        coarsest over walls), and ``removed_vs_ideal``.

    Raises
    ------
    ValueError
        If a file is missing or malformed, no tag is found, or a listed path is not a
        shot or distractor of the ground truth.
    """
    if not 0.0 < overlap_threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
    if not 0.0 < cover_fraction <= 1.0:
        raise ValueError(f"cover_fraction must be in (0, 1], got {cover_fraction}")
    gt = load_ground_truth(ground_truth)
    tags = find_tags(output_dir)
    if not tags:
        raise ValueError(f"no <tag>/pairs.csv found in {output_dir}")
    coverage = WallCoverage(gt, cell=coverage_cell)
    reference = ground_truth_reference(gt, overlap_threshold, coverage, cover_fraction)
    scores = {}
    for tag in tags:
        metrics = score_tag(Path(output_dir) / tag, gt, overlap_threshold, coverage)
        metrics["removed_vs_ideal"] = _ratio(metrics["n_removed"],
                                             reference["ideal_coverage_removed"])
        scores[tag] = {**metrics, **reference}
    return scores


TABLE_COLUMNS = (("precision", "prec"), ("recall", "recall"), ("f1", "F1"),
                 ("recall_all", "rec_all"), ("f1_all", "F1_all"), ("auc", "AUC"),
                 ("dedup_rate", "dedup"), ("ideal_dedup_rate", "ideal"),
                 ("coverage", "coverage"), ("ideal_coverage_dedup_rate", "idealcov"),
                 ("removed_vs_ideal", "rm/ideal"), ("n_distractors_removed", "distr_rm"))


def format_table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """Plain-text table: one row per tag, the columns of :data:`TABLE_COLUMNS`."""
    width = max([len("tag")] + [len(t) for t in scores])
    head = f"{'tag':<{width}} " + " ".join(f"{label:>8}" for _, label in TABLE_COLUMNS)
    lines = [head]
    for tag, metrics in scores.items():
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = metrics.get(key)
            if value is None:
                cells.append(f"{'n/a':>8}")
            elif isinstance(value, int):
                cells.append(f"{value:>8d}")
            else:
                cells.append(f"{value:>8.3f}")
        lines.append(f"{tag:<{width}} " + " ".join(cells))
    return "\n".join(lines)
