# The two commands: `make serve` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX_DIR ?= index
COLLECTION ?= default
SAMPLE := data/seeds
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup serve test test-deps docker-test llm llm-weights lint bench eval clean-index

setup: $(VENV)/.setup-stamp

# Re-runs only when the project's dependencies change, so `make setup` is quick when nothing did.
$(VENV)/.setup-stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# LightGBM's wheel (the answer model) links against the system's OpenMP runtime, which slim systems lack
	ldconfig -p | grep -q 'libgomp\.so\.1' || (apt-get update -qq && apt-get install -y -qq libgomp1 >/dev/null)
	$(BIN)/pip install -qq --disable-pip-version-check -e .
	$(BIN)/python -m qa.embed.prepare
	touch $@

serve: setup
	@if [ ! -f "$(INDEX_DIR)/$(COLLECTION)/docstore.sqlite3" ]; then \
		$(BIN)/qa ingest $(SAMPLE) --index-dir $(INDEX_DIR) --collection $(COLLECTION); \
	fi
	$(BIN)/qa serve --index-dir $(INDEX_DIR)

# Test-only needs: test libraries, the local LLM server and its weights, Debian's Chromium for the widget,
# a compose implementation to validate docker-compose.yml.
test-deps: setup $(VENV)/.test-stamp

$(VENV)/.test-stamp: pyproject.toml
	$(BIN)/pip install -qq --disable-pip-version-check -e ".[test,llm]"
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	# the compose file is validated by a test; no Docker engine is needed for that
	docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null)
	$(BIN)/python -m qa.llm_server fetch
	touch $@

# The Docker images and the compose stack (`make docker-test`, ~12 min) run only when their inputs differ from
# the ones a passing run recorded in docker/stack-verified: see the README's Docker section.
test: test-deps
	$(BIN)/ruff check qa tests bench evals
	$(BIN)/mypy qa bench evals
	$(PYTHON) docker/stack_test.py run --if-changed
	$(BIN)/pytest -q --durations=15

# Both images built and the compose stack run for real, then all of it removed: a private Docker engine when
# none is reachable, a local Debian base image when no registry serves python:3.11-slim. Standard library
# only, no set-up needed; docker/stack_test.py says what it checks.
docker-test:
	$(PYTHON) docker/stack_test.py run

llm-weights: setup
	$(BIN)/pip install -qq --disable-pip-version-check -e ".[llm]"
	$(BIN)/python -m qa.llm_server fetch

# A local OpenAI-compatible LLM on 127.0.0.1:8081; then run `QA_LLM_BASE_URL=http://127.0.0.1:8081/v1 make serve`.
llm: llm-weights
	$(BIN)/python -m qa.llm_server serve --port 8081

lint: setup
	$(BIN)/ruff check qa tests bench evals
	$(BIN)/ruff format --check qa tests bench evals
	$(BIN)/mypy qa bench evals

eval: setup
	$(BIN)/qa eval evals/sample_qa.jsonl --out artifacts/eval --compare

clean-index:
	rm -rf $(INDEX_DIR)/$(COLLECTION)

bench: setup
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/search_latency.py
	$(BIN)/python bench/ask_latency.py
	$(BIN)/python bench/ask_profile.py --variant fp32:QA_EMBED_BACKEND=torch --variant int8:QA_EMBED_BACKEND=onnx-int8
	$(BIN)/python bench/retrieval_quality.py
	$(BIN)/python bench/memory_per_chunk.py
	$(BIN)/python bench/faiss_index_types.py
	$(BIN)/python bench/store_compare.py
