#!/usr/bin/env bash
# Repeat the process/signal/distributed tests (pytest marker `process`, see
# pytest.ini) under CPU contention, to show they do not depend on the machine's speed.
#
#   bash tools/stress_tests.sh            # from any directory
#
# Two CPU-burning processes run for the whole stress run (ended on exit, however it
# exits), so the tests compete for the cores as in a `make test` on a busy machine.
# Each run is one `pytest -m process -n JOBS`; the summary gives "N of RUNS passed"
# per test id. Exit status: 0 only if every test passed in every run.
#
# Environment: PYTHON (default: the repository's .venv/bin/python), RUNS (20),
# BURNERS (2), JOBS (pytest-xdist workers, 2).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO_DIR/.venv/bin/python}"
RUNS="${RUNS:-20}"
BURNERS="${BURNERS:-2}"
JOBS="${JOBS:-2}"

if [ ! -x "$PYTHON" ] && ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "stress_tests.sh: error: no Python at '$PYTHON' (run 'make install', or set PYTHON=...)" >&2
    exit 2
fi
for name in RUNS BURNERS JOBS; do
    case "${!name}" in
        ''|*[!0-9]*) echo "stress_tests.sh: error: $name must be a non-negative integer, got '${!name}'" >&2; exit 2 ;;
    esac
done
if [ "$RUNS" -eq 0 ]; then
    echo "stress_tests.sh: error: RUNS must be at least 1" >&2
    exit 2
fi

cd "$REPO_DIR"
# Child processes (torchrun ranks, CLI subprocesses) import this checkout too.
export PYTHONPATH="$REPO_DIR${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg

RESULTS="$(mktemp -d)"
BURNER_PIDS=()
cleanup() {
    for pid in ${BURNER_PIDS[@]+"${BURNER_PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$RESULTS"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 "$BURNERS"); do
    # A busy loop in its own bash process: no Python, nothing to install.
    bash -c 'while :; do :; done' &
    BURNER_PIDS+=("$!")
done
echo "stress: $RUNS runs of 'pytest -m process -n $JOBS' with $BURNERS CPU burners on $(nproc) cores"

for run in $(seq 1 "$RUNS"); do
    start=$SECONDS
    # pytest's own exit status is not used: the JUnit report says which tests passed.
    "$PYTHON" -m pytest -m process -n "$JOBS" -q -p no:cacheprovider tests \
        --junitxml="$RESULTS/run$run.xml" >"$RESULTS/run$run.log" 2>&1 || true
    echo "run $run/$RUNS: $(tail -n 1 "$RESULTS/run$run.log") [$((SECONDS - start)) s]"
    grep -E '^(FAILED|ERROR) ' "$RESULTS/run$run.log" | sed 's/^/    /' || true
done

"$PYTHON" - "$RESULTS" "$RUNS" <<'EOF'
"""Per-test pass counts over the runs' JUnit reports; exit 1 unless every run passed every test."""
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

results, runs = Path(sys.argv[1]), int(sys.argv[2])
passed, skipped, seen = Counter(), Counter(), set()
failed_runs = []
for run in range(1, runs + 1):
    report = results / f"run{run}.xml"
    if not report.is_file():
        failed_runs.append(run)  # pytest died before writing its report
        continue
    for case in ET.parse(report).iter("testcase"):
        test_id = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        seen.add(test_id)
        outcomes = {child.tag for child in case}
        if "skipped" in outcomes:
            skipped[test_id] += 1
        elif not outcomes & {"failure", "error"}:
            passed[test_id] += 1
for test_id in sorted(seen):
    note = f" ({skipped[test_id]} skipped)" if skipped[test_id] else ""
    print(f"{test_id}: {passed[test_id]} of {runs} passed{note}")
# A test missing from a run (collection error, crashed worker) counts as not passed.
bad = [t for t in seen if passed[t] + skipped[t] != runs]
for run in failed_runs:
    print(f"run {run}: no report; see its output above")
if not seen:
    print("stress: FAILED: no test marked 'process' was collected")
    sys.exit(1)
if bad or failed_runs:
    print(f"stress: FAILED: {len(bad)} of {len(seen)} tests did not pass all {runs} runs")
    sys.exit(1)
if skipped:
    print(f"stress: no failures in {runs} runs, but {len(skipped)} tests were skipped (see above)")
else:
    print(f"stress: all {len(seen)} tests passed {runs} of {runs} runs")
EOF
