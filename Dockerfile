# Two images from one file, each a build target:
#   api (the default): the qa service, its embedding model built in at build time, so it runs air-gapped;
#   llm: an OpenAI-compatible LLM server (llama.cpp via xllamacpp) with its weights fetched at build time.
# `docker compose build` builds both; `docker build -t qa .` builds the API alone.
FROM python:3.11-slim AS base

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    QA_CACHE_DIR=/opt/qa-cache

WORKDIR /app
# torch first, pinned. Pass `--build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index>` for a CPU-only build
# (the default package index serves a much larger CUDA build).
ARG TORCH_INDEX_URL=""
RUN pip install --no-cache-dir torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
COPY pyproject.toml setup.py README.md ./
COPY qa ./qa
COPY prompts ./prompts
# A regular (non-editable) install: the package, its prompt templates and static files live in site-packages.
RUN pip install --no-cache-dir . && rm -rf build


FROM base AS llm
RUN pip install --no-cache-dir ".[llm]" && rm -rf build && python -m qa.llm_server fetch
EXPOSE 8081
CMD ["python", "-m", "qa.llm_server", "serve", "--host", "0.0.0.0", "--port", "8081"]


FROM base AS api
ENV QA_INDEX_DIR=/data/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000
RUN python -m qa.embed.prepare
# the sample corpus, ingested into an empty index at first start
COPY data/seeds ./data/seeds
VOLUME ["/data/index"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["sh", "-c", "[ -f \"$QA_INDEX_DIR/default/docstore.sqlite3\" ] || qa ingest data/seeds; exec qa serve"]
