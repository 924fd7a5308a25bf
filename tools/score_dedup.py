"""Score a dedup output folder against a simulated flight's or survey's ground truth (docs/design.md §6).

Example::

    python tools/score_dedup.py demo_out/dedup --ground-truth demo_out/flight/ground_truth.json
    python tools/score_dedup.py out/classical out/deep --ground-truth flight/ground_truth.json

Prints one row per ``<tag>`` of every output folder given (precision, recall, F1 over the
candidate pairs; recall and F1 over all true pairs; ROC-AUC; dedup rate; ideal dedup rate;
coverage retained; the ideal coverage-preserving dedup rate; removed / ideal removed;
distractors removed) and writes ``scores.json`` into each output folder, plus
``<tag>/coverage_map.png`` (surface kept, lost and never photographed, per wall), which
is also added to the folder's ``report.html``. Definitions:
``mmselfsup_ext.evaluation.scoring``.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import re
import sys
from pathlib import Path

from mmselfsup_ext.argtypes import OneLineArgumentParser, number_in
from mmselfsup_ext.evaluation.coverage_map import coverage_map
from mmselfsup_ext.evaluation.scoring import format_table, load_ground_truth, score_dedup

_SECTION = re.compile(r'<section id="ground-truth-coverage">.*?</section>\n?', re.S)


def write_coverage_maps(outdir: Path, ground_truth: Path, tags: list[str]) -> list[Path]:
    """``<tag>/coverage_map.png`` per tag, also shown in ``report.html`` when there is one."""
    gt = load_ground_truth(ground_truth)
    index = {name: k for k, name in enumerate(gt.files)}
    written, figures = [], []
    for tag in tags:
        kept = [index[name.rsplit("/", 1)[-1]]
                for name in (outdir / tag / "keep.txt").read_text(encoding="utf-8").split()
                if name.rsplit("/", 1)[-1] in index]
        png = outdir / tag / "coverage_map.png"
        coverage_map(gt, kept).save(png)
        written.append(png)
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        figures.append(f'<h3>{html.escape(tag)}</h3><img alt="coverage map of '
                       f'{html.escape(tag)}" src="data:image/png;base64,{data}">')
    report = outdir / "report.html"
    if report.is_file():
        section = ('<section id="ground-truth-coverage"><h2>Surface kept (ground truth)</h2>'
                   '<p>Green: shown by a kept image; red: shown only by removed images '
                   '(lost); white: never photographed.</p>' + "".join(figures) + "</section>\n")
        page = _SECTION.sub("", report.read_text(encoding="utf-8"))
        report.write_text(page.replace("</body>", section + "</body>"), encoding="utf-8")
    return written


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of the scorer."""
    parser = OneLineArgumentParser(description="Score dedup results against ground truth.")
    parser.add_argument("outdirs", type=Path, nargs="+", metavar="OUTDIR",
                        help="dedup output folder(s) (<tag>/pairs.csv, ...); their tags are "
                             "scored side by side")
    parser.add_argument("--ground-truth", required=True, type=Path,
                        help="ground_truth.json of the flight or survey")
    parser.add_argument("--overlap", type=number_in(0.0, 1.0, low_open=True), default=0.5,
                        help="true duplicate iff footprint overlap >= this (default: 0.5)")
    parser.add_argument("--coverage-cell", type=number_in(0.0, low_open=True), default=None,
                        help="coverage raster cell in surface pixels (default: automatic)")
    parser.add_argument("--cover-fraction", type=number_in(0.0, 1.0, low_open=True),
                        default=0.999,
                        help="the ideal coverage-preserving choice drops a shot when the shots "
                             "still kept cover this fraction of its footprint (default: 0.999)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Score, print the table, write OUTDIR/scores.json for each OUTDIR."""
    parser = build_parser()
    args = parser.parse_args(argv)
    scores: dict[str, dict] = {}
    written = []
    try:
        for outdir in args.outdirs:
            folder_scores = score_dedup(outdir, args.ground_truth,
                                        overlap_threshold=args.overlap,
                                        coverage_cell=args.coverage_cell,
                                        cover_fraction=args.cover_fraction)
            payload = {"ground_truth": str(args.ground_truth),
                       "overlap_threshold": args.overlap, "tags": folder_scores}
            out = outdir / "scores.json"
            out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            written.append(str(out))
            written += map(str, write_coverage_maps(outdir, args.ground_truth,
                                                    sorted(folder_scores)))
            # Folders may share tags (e.g. with and without --verify): name rows by folder.
            prefix = f"{outdir.name}/" if len(args.outdirs) > 1 else ""
            scores.update({prefix + tag: row for tag, row in folder_scores.items()})
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    ref = next(iter(scores.values()))
    print(format_table(scores))
    print(f"ground truth: {ref['n_shots']} shots, {ref['n_distractors']} distractors, "
          f"{ref['n_true_pairs']} true pairs at overlap >= {args.overlap}; ideal dedup rate "
          f"{ref['ideal_dedup_rate']:.3f} (coverage {ref['ideal_coverage']:.3f}); one per "
          f"component {ref['component_dedup_rate']:.3f} (coverage "
          f"{ref['component_coverage']:.3f}); coverage-preserving: "
          f"{ref['ideal_coverage_removed']} removed, rate "
          f"{ref['ideal_coverage_dedup_rate']:.3f} (coverage "
          f"{ref['ideal_coverage_retained']:.3f})")
    print(f"wrote {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
