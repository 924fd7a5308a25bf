# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_out
export HF_HUB_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: install test test-fast demo clean

install: $(STAMP)

$(STAMP): requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" tests

# Inner loop: stop at the first failure, skip the training, distributed and packaging
# tests (minutes of model steps, subprocess ranks, a wheel build). `make test` runs them.
FAST_SKIP := test_training_cpu_configs test_training_dist test_training_resume test_tools_train \
	test_apis_distributed test_packaging
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -x -q -m "not slow" tests $(foreach t,$(FAST_SKIP),--ignore=tests/$(t).py)

demo: $(STAMP)
	$(PY) tools/simulate_flight.py --out $(DEMO_DIR)/flight --seed 0
	$(PY) image_processing_deduplication.py $(DEMO_DIR)/flight/images \
		--pairing window --window 3 --out $(DEMO_DIR)/classical
	$(PY) SwinFpnHashCLR_deduplication.py $(DEMO_DIR)/flight/images \
		--pairing window --window 3 --out $(DEMO_DIR)/deep
	$(PY) image_processing_deduplication.py $(DEMO_DIR)/flight/images --methods phash \
		--pairing window --window 3 --verify --out $(DEMO_DIR)/verified
	$(PY) tools/score_dedup.py $(DEMO_DIR)/classical $(DEMO_DIR)/deep $(DEMO_DIR)/verified \
		--ground-truth $(DEMO_DIR)/flight/ground_truth.json
	@echo "--- a re-flown survey of two walls with shuffled file names and unrelated photos:"
	@echo "--- capture-order candidates (window 3), keypoint retrieval and the spatial codes alone (pairing all)"
	$(PY) tools/simulate_survey.py --out $(DEMO_DIR)/survey --walls 2 --distractors 4 \
		--shuffle-names --seed 0
	$(PY) image_processing_deduplication.py $(DEMO_DIR)/survey/images --methods phash \
		--pairing window --window 3 --verify --out $(DEMO_DIR)/survey_window
	$(PY) image_processing_deduplication.py $(DEMO_DIR)/survey/images --methods phash \
		--pairing all --verify --out $(DEMO_DIR)/survey_retrieval
	$(PY) SwinFpnHashCLR_deduplication.py $(DEMO_DIR)/survey/images --pairing all \
		--out $(DEMO_DIR)/survey_spatial
	$(PY) tools/score_dedup.py $(DEMO_DIR)/survey_window $(DEMO_DIR)/survey_retrieval \
		$(DEMO_DIR)/survey_spatial --ground-truth $(DEMO_DIR)/survey/ground_truth.json
	@echo "--- every real surface in ../shared/data (each photo tiled into a wall, shots downsampled 2x):"
	@echo "--- candidate recall against verifying the true pairs, F1, selection against the ideal"
	@if $(PY) -c "import sys; from mmselfsup_ext.evaluation import shared_photos; sys.exit(not shared_photos())"; then \
		$(PY) benchmarks/real_surfaces.py --out $(DEMO_DIR)/real_surfaces --scales 2 --walls 1 \
			--orders shuffled --exhaustive-max 0; \
	else echo "(no real photos in ../shared/data on this machine: skipped)"; fi
	@echo "Reports: $(DEMO_DIR)/classical/report.html $(DEMO_DIR)/deep/report.html" \
		"$(DEMO_DIR)/verified/report.html $(DEMO_DIR)/survey_retrieval/report.html" \
		"$(DEMO_DIR)/survey_spatial/report.html"

clean:
	rm -rf $(DEMO_DIR) work_dirs
