"""Every setting of a deduplication run, validated once, in one object.

:class:`DedupOptions` is built either from Python keywords or from the parsed
command line (:meth:`DedupOptions.from_args`); its constructor checks every value
and every combination, so the pipeline, the search and the keep stages trust what
they receive. Errors name the setting the way the caller spelled it: ``keep_mode``
from Python, ``--keep-mode`` from the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import IMAGE_EXTENSIONS
from ..validation import check_choice, check_int, check_number
from .coverage import MIN_COVERAGE
from .keep_policies import KEEP_MODES, KEEP_POLICIES, LEGACY_KEEP_MODES
from .pairing import PAIRING_MODES, compile_group_regex
from . import sources as source_registry
from .threshold import OTSU_SOURCES, parse_threshold

__all__ = ["CANDIDATE_SOURCES", "DedupOptions", "resolve_options"]

#: What ``--candidates`` accepts (``pairing="all"`` with ``verify``): a source of the
#: registry (:mod:`.sources`) or ``both`` for every one of them.
CANDIDATE_SOURCES = source_registry.USER_SOURCES + ("both",)
# Options that mean something only under another setting: (field, needed field, its value).
# Giving one without the other is a mistake the user should hear about, not a no-op.
_DEPENDENT = (
    ("otsu_on", "pairing", "all"),
    ("report_radius", "pairing", "all"),
    ("min_overlap", "verify", True),
    ("verify_max_side", "verify", True),
    ("max_features", "verify", True),
    ("candidates", "verify", True),
    ("verify_margin", "verify", True),
    ("verify_knn", "verify", True),
)
# Options of the verification candidates that only ``pairing="all"`` has.
_ALL_PAIRING_VERIFY = ("candidates", "verify_margin", "verify_knn")
# Options of the codes' own candidates (not used by feature retrieval alone).
_CODE_CANDIDATES = ("verify_margin", "verify_knn")


@dataclass(frozen=True)
class DedupOptions:
    """Settings of :func:`~.pipeline.deduplicate_folder` (and of both scripts).

    Parameters
    ----------
    pairing : {"window", "adjacent", "all"}, default "window"
        Candidate pairs: each image against its next ``window`` in capture order,
        disjoint neighbours (the paper), or every pair (never an N x N matrix).
    window : int, default 3
        Look-ahead of ``window`` pairing.
    group_by : str, optional
        Regular expression; pairing and Otsu run per key (first capture group).
    threshold : "otsu" or int, default "otsu"
        Duplicate iff Hamming distance ``<= T``.
    otsu_on : {"knn", "pairs"}, optional
        ``pairing="all"`` only: the histogram Otsu runs on (default ``knn``).
    knn_k : int, default 1
        Neighbours per image of the ``knn`` histogram.
    report_radius : int, optional
        ``pairing="all"`` only: ``pairs.csv`` lists pairs within ``max(T, R)``
        (default ``bits // 8``).
    keep : {"first", "sharpest", "largest"}, default "first"
        Preferred image of a duplicate group.
    keep_mode : {"surface", "pairwise", "component"}, optional
        ``surface`` (default with ``verify``): remove an image only if the kept
        images, projected into it through verified homographies, still show
        ``min_coverage`` of it; ``pairwise`` (default without): remove an image only
        if a kept image is its duplicate; ``component``: one image per connected
        group (the paper). The former names ``coverage`` and ``cover`` are accepted
        with a warning.
    min_coverage : float, default 0.985
        ``surface`` mode: share of a removed image the kept ones must show.
    verify : bool, default False
        Judge candidate pairs by their geometrically verified overlap.
    min_overlap : float, default 0.5
        ``verify`` only: overlap (shared surface / smaller footprint) of a duplicate.
    verify_max_side : int, default 640
        ``verify`` only: longest side for keypoint detection.
    max_features : int, default 1000
        ``verify`` only: keypoints kept per image, strongest first (40 KB per image
        in memory and in the cache for ORB at 1000).
    candidates : {"features", "codes", "both"}, optional
        ``verify`` with ``pairing="all"``: where candidate pairs come from:
        keypoint-descriptor retrieval (default; any file order, partial overlap),
        the codes' radius and nearest neighbours, or both.
    verify_margin : int, optional
        Code candidates: also verify pairs within ``T`` + this many bits
        (default ``bits // 8``).
    verify_knn : int, default 4
        Code candidates: also verify each image's nearest codes.
    workers : int, default 1
        Processes for encoding and keep scores (threads for verification).
    progress : bool, default True
        Progress bars on stderr.
    extensions : sequence of str
        Image suffixes to discover.
    html_report : bool, default True
        Also write ``report.html``.
    cache_dir : path-like, optional
        Encodings cache folder; ``None``: no cache.
    cli : bool, default False
        Name settings as command-line flags in error messages.

    Raises
    ------
    ValueError
        For any invalid value or combination, naming the setting.

    Examples
    --------
    >>> DedupOptions(pairing="all", otsu_on="pairs").otsu_source
    'pairs'
    >>> DedupOptions(otsu_on="pairs")
    Traceback (most recent call last):
    ...
    ValueError: otsu_on applies only with pairing='all'
    """

    pairing: str = "window"
    window: int = 3
    group_by: str | None = None
    threshold: str | int = "otsu"
    otsu_on: str | None = None
    knn_k: int = 1
    report_radius: int | None = None
    keep: str = "first"
    keep_mode: str | None = None
    min_coverage: float = MIN_COVERAGE
    verify: bool = False
    min_overlap: float = 0.5
    verify_max_side: int = 640
    max_features: int = 1000
    candidates: str | None = None
    verify_margin: int | None = None
    verify_knn: int = 4
    workers: int = 1
    progress: bool = True
    extensions: tuple[str, ...] = IMAGE_EXTENSIONS
    html_report: bool = True
    cache_dir: Path | None = None
    cli: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self._name
        check_choice(self.pairing, PAIRING_MODES, name("pairing"))
        check_int(self.window, name("window"), minimum=1)
        if self.group_by is not None:
            compile_group_regex(self.group_by)
        object.__setattr__(self, "threshold", parse_threshold(self.threshold))
        if self.otsu_on is not None:
            check_choice(self.otsu_on, OTSU_SOURCES, name("otsu_on"))
        check_int(self.knn_k, name("knn_k"), minimum=1)
        if self.report_radius is not None:
            check_int(self.report_radius, name("report_radius"), minimum=0)
        check_choice(self.keep, KEEP_POLICIES, name("keep"))
        if self.keep_mode in LEGACY_KEEP_MODES:
            renamed = LEGACY_KEEP_MODES[self.keep_mode]
            warnings.warn(f"{self._setting('keep_mode', self.keep_mode)} is now called "
                          f"{self._setting('keep_mode', renamed)}", FutureWarning, stacklevel=3)
            object.__setattr__(self, "keep_mode", renamed)
        if self.keep_mode is not None:
            check_choice(self.keep_mode, KEEP_MODES, name("keep_mode"))
        check_number(self.min_coverage, name("min_coverage"), 0.0, 1.0, low_open=True)
        check_number(self.min_overlap, name("min_overlap"), 0.0, 1.0, low_open=True)
        check_int(self.verify_max_side, name("verify_max_side"), minimum=32)
        check_int(self.max_features, name("max_features"), minimum=1)
        if self.candidates is not None:
            # The registry as it is now: a source added to it is accepted at once.
            check_choice(self.candidates, source_registry.USER_SOURCES + ("both",),
                         name("candidates"))
        if self.verify_margin is not None:
            check_int(self.verify_margin, name("verify_margin"), minimum=0)
        check_int(self.verify_knn, name("verify_knn"), minimum=1)
        check_int(self.workers, name("workers"), minimum=1)
        if isinstance(self.extensions, str) or not self.extensions:
            raise ValueError(f"{name('extensions')} must be a non-empty sequence of suffixes "
                             f"such as ('.jpg', '.png'), got {self.extensions!r}")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        self._check_combinations()

    def _name(self, attribute: str) -> str:
        return f"--{attribute.replace('_', '-')}" if self.cli else attribute

    def _setting(self, attribute: str, value: object) -> str:
        if self.cli:
            return self._name(attribute) + ("" if value is True else f" {value}")
        return f"{attribute}={value!r}"

    def _check_combinations(self) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for attribute, needs, value in _DEPENDENT:
            if getattr(self, attribute) != defaults[attribute] and getattr(self, needs) != value:
                raise ValueError(f"{self._name(attribute)} applies only with "
                                 f"{self._setting(needs, value)}")
        if self.verify and self.ordered:
            for attribute in _ALL_PAIRING_VERIFY:
                if getattr(self, attribute) != defaults[attribute]:
                    raise ValueError(f"{self._name(attribute)} applies only with "
                                     f"{self._setting('pairing', 'all')} (ordered pairings "
                                     "verify every candidate pair)")
        if self.verify and not self.ordered and "codes" not in self.sources:
            for attribute in _CODE_CANDIDATES:
                if getattr(self, attribute) != defaults[attribute]:
                    raise ValueError(f"{self._name(attribute)} applies only with "
                                     f"{self._setting('candidates', 'codes')} or both")
        if self.verify and self.keep_mode == "component":
            raise ValueError(f"{self._name('verify')} needs {self._setting('keep_mode', 'surface')}"
                             f" or {self._setting('keep_mode', 'pairwise')}: one image per group "
                             "would drop the surface only its other members show")
        if self.keep_mode == "surface" and not self.verify:
            raise ValueError(f"{self._setting('keep_mode', 'surface')} needs "
                             f"{self._name('verify')}: coverage is measured through the "
                             "verified homographies")
        if (self.min_coverage != defaults["min_coverage"]
                and self.resolved_keep_mode != "surface"):
            raise ValueError(f"{self._name('min_coverage')} applies only with "
                             f"{self._setting('keep_mode', 'surface')} (the default with "
                             f"{self._name('verify')})")

    @property
    def otsu_source(self) -> str:
        """The histogram Otsu runs on under ``pairing="all"``."""
        return self.otsu_on or "knn"

    @property
    def ordered(self) -> bool:
        """Whether pairs come from capture order (``window``, ``adjacent``), not any order."""
        return self.pairing != "all"

    @property
    def capture_window(self) -> int | None:
        """The look-ahead of ``window`` pairing; ``None`` for the other pairings."""
        return self.window if self.pairing == "window" else None

    @property
    def sources(self) -> tuple[str, ...]:
        """The candidate sources of a verified run, by registry name (:mod:`.sources`).

        Ordered pairings verify their own pairs; ``all`` uses ``candidates`` (default
        ``features``), then the pairs that verified homographies imply.
        """
        if self.ordered:
            return (self.pairing,)
        users = source_registry.USER_SOURCES
        chosen = self.candidates or users[0]
        return (users if chosen == "both" else (chosen,)) + ("implied",)

    @property
    def resolved_keep_mode(self) -> str:
        """The keep mode in effect: ``surface`` with ``verify``, else ``pairwise``."""
        return self.keep_mode or ("surface" if self.verify else "pairwise")

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, cache_dir: str | os.PathLike | None
                  ) -> DedupOptions:
        """Options from a namespace parsed by :func:`~.cli.add_dedup_arguments`.

        Parameters
        ----------
        args : argparse.Namespace
            Parsed command line.
        cache_dir : path-like or None
            The encodings cache the command line resolved (``--cache-dir``, the
            default under ``--out``, or None for ``--no-cache``).
        """
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                  if hasattr(args, f.name)}
        values.update(progress=not args.no_progress, html_report=not args.no_report,
                      cache_dir=cache_dir, cli=True)
        return cls(**values)


def resolve_options(options: DedupOptions | None, settings: dict[str, object]) -> DedupOptions:
    """``options`` with ``settings`` applied, or new options from ``settings`` alone.

    The library's entry points take either a validated :class:`DedupOptions` or
    keywords (notebook use); both end up validated by its constructor only.
    """
    if options is None:
        return DedupOptions(**settings)
    return dataclasses.replace(options, **settings) if settings else options
