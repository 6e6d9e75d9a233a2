# Two images from one file, each a build target:
#   api (the default, last stage): the qa service with its embedding model built in, so it runs air-gapped;
#   llm: an OpenAI-compatible LLM server (llama.cpp via xllamacpp) with its weights fetched at build time.
# `docker compose build` builds both; `docker build -t qa .` builds the API alone.
#
# Build arguments and optional inputs (all absent by default):
#   BASE_IMAGE       a Debian-based image with Python 3.11 and its venv module (default python:3.11-slim);
#                    `make docker-test` builds one with debootstrap where no image registry is reachable
#   TORCH_INDEX_URL  a package index to take torch from (e.g. PyTorch's CPU wheel index)
#   docker/build-inputs/ca.crt   a CA bundle pip trusts instead of its own (a proxy that re-signs TLS)
#   docker/build-inputs/wheels/  local wheels pip prefers (e.g. a CPU build of the pinned torch)
# The inputs are used by the build stages only: no final image holds them.
# No RUN --mount and no other BuildKit-only syntax, so the classic builder builds it too. The classic builder
# also builds the stages before its target, so building `api` with it fetches the LLM weights as well.
ARG BASE_IMAGE=python:3.11-slim

# What both images run on: the base image's Python, a virtualenv on the PATH, an unprivileged user.
FROM ${BASE_IMAGE} AS python
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    QA_CACHE_DIR=/opt/qa-cache
# libgomp1: the OpenMP runtime llama.cpp's server (xllamacpp) links against; slim and minimal bases lack it
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && useradd --system --user-group --uid 10001 --home-dir /app --no-create-home qa


# Everything that needs the network happens here: the virtualenv and the models.
FROM python AS build
COPY docker/with-build-inputs docker/build-inputs/ /build-inputs/
RUN python3 -m venv /opt/venv
# torch first and pinned: the default package index serves a multi-GB CUDA build of it
ARG TORCH_INDEX_URL=""
RUN /build-inputs/with-build-inputs pip install --no-cache-dir torch==2.13.0 \
        ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY qa ./qa
COPY prompts ./prompts
# A regular (non-editable) install: the package, its prompt templates and static files live in site-packages.
# The llm extra (llama.cpp's server, ~100 MB) goes into the one virtualenv, so both images share that layer.
RUN /build-inputs/with-build-inputs pip install --no-cache-dir ".[llm]"
# the embedding model folder, its int8 ONNX build and the tokenizer file, as `make setup` builds them
RUN python -m qa.embed.prepare


FROM build AS llm-weights
RUN /build-inputs/with-build-inputs python -m qa.llm_server fetch --cache-dir /opt/llm-cache


FROM python AS llm
COPY --from=build /opt/venv /opt/venv
COPY --from=llm-weights --chown=qa:qa /opt/llm-cache /opt/llm-cache
ENV LLM_HOST=0.0.0.0 \
    LLM_PORT=8081
USER qa
WORKDIR /app
EXPOSE 8081
# llama.cpp's /health answers 200 once the model is loaded
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['LLM_PORT'], timeout=4)"]
CMD ["sh", "-c", "exec python -m qa.llm_server serve --cache-dir /opt/llm-cache --host \"$LLM_HOST\" --port \"$LLM_PORT\""]


FROM python AS api
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=qa:qa /opt/qa-cache /opt/qa-cache
WORKDIR /app
# the sample corpus, ingested into an empty index at first start
COPY data/seeds ./data/seeds
# the volume's mount point belongs to the service's user, so a new named volume does too
RUN mkdir -p /data/index && chown qa:qa /data/index
ENV QA_INDEX_DIR=/data/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000
USER qa
VOLUME ["/data/index"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('QA_PORT', '8000'), timeout=4)"]
CMD ["sh", "-c", "[ -f \"$QA_INDEX_DIR/default/docstore.sqlite3\" ] || qa ingest data/seeds; exec qa serve"]
