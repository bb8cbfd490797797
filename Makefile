# hwgen: every target bootstraps a project-local virtual environment on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CONFIG  ?= designs/default.yaml
TARGET  ?=
OUT     ?= build
JOBS    ?= 2
BOARD   ?= icebreaker
SWEEP   ?= designs/sweeps/ternary_study.yaml
EXECUTOR ?= local

.PHONY: verilog test test-slow sim synth pnr bitstream prove dse bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dse,boards]'
	touch $@

verilog: $(STAMP)
	$(BIN)/hwgen verilog $(CONFIG) --out $(OUT)

sim: $(STAMP)
	$(BIN)/hwgen sim $(CONFIG) --out $(OUT)

synth: $(STAMP)
	$(BIN)/hwgen synth $(CONFIG) --out $(OUT) $(if $(TARGET),--target $(TARGET))

pnr: $(STAMP)
	$(BIN)/hwgen pnr $(CONFIG) --out $(OUT) $(if $(TARGET),--target $(TARGET))

bitstream: $(STAMP)
	$(BIN)/hwgen bitstream $(CONFIG) --out $(OUT) --board $(BOARD)

prove: $(STAMP)
	$(BIN)/hwgen prove $(CONFIG) --out $(OUT)

dse: $(STAMP)
	$(BIN)/hwgen dse $(SWEEP) --executor $(EXECUTOR)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q --durations=25

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q -m slow

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(OUT) reports .pytest_cache
