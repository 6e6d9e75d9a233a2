"""The one settings object. Every knob is an env var `QA_<NAME>`; nothing is read at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "intfloat/multilingual-e5-small"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "qa"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=None, extra="ignore")

    # storage
    index_dir: Path = Path("index")
    collection: str = "default"
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    # chunking: tokens counted with tiktoken
    tokenizer_encoding: str = "cl100k_base"
    chunk_tokens: int = Field(default=200, ge=16, le=4096)
    chunk_overlap_tokens: int = Field(default=40, ge=0, le=1024)

    # embeddings
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embed_batch_size: int = Field(default=32, ge=1)
    # Putting the title in front of each passage fixed a measured dense miss (a chunk that never names its
    # subject); kept switchable so the effect stays measurable.
    embed_title: bool = True
    # How questions are embedded (the per-request cost): "onnx-int8", the same model as an int8 ONNX graph built at
    # set-up (~4x less CPU a query), or "torch", fp32 through sentence-transformers. Passages are embedded once, at
    # ingest, by `passage_embed_backend`. Measured on CMRC 2018 trial (bench/retrieval_quality.py, fused hit@1):
    # fp32 everywhere 0.981, int8 queries over fp32 passages 0.980, int8 for both 0.976.
    embed_backend: str = Field(default="onnx-int8", pattern="^(onnx-int8|torch)$")
    passage_embed_backend: str = Field(default="torch", pattern="^(onnx-int8|torch)$")
    # torch backend: the queries of concurrent requests are encoded in one model call, those arriving within this
    # window of the first plus any that queued while the previous call ran (negative: one call per query). The
    # int8 backend never batches queries (a query's vector would depend on its batch: see qa/embed/onnx_int8.py).
    query_batch_window_ms: float = Field(default=1.0, le=1000.0)

    # where collections live: "embedded" (SQLite + FAISS under index_dir) or "milvus" (everything in Milvus, so
    # several API replicas can share it). `milvus_uri`: a Milvus Lite folder (default <index_dir>/milvus.db, one
    # process) or http(s)://host:19530 for a Milvus server or cluster.
    store: str = Field(default="embedded", pattern="^(embedded|milvus)$")
    milvus_uri: str | None = None
    milvus_token: SecretStr | None = None
    milvus_db: str | None = None
    # Milvus dense index: "auto" is exact FLAT on Milvus Lite (which scans every row anyway) and AUTOINDEX on a
    # server, where Milvus picks the structure for the data size.
    milvus_index: str = Field(default="auto", pattern="^(auto|FLAT|HNSW|IVF_FLAT|AUTOINDEX)$")

    # FAISS structure: "auto" is exact flat search up to `vector_flat_max` vectors, then IVF-Flat
    # (measured in bench/RESULTS.md: recall@10 0.975 at 2.3 ms for 100k vectors, deletes still incremental)
    vector_index: str = Field(default="auto", pattern="^(auto|flat|ivf)$")
    vector_flat_max: int = Field(default=50_000, ge=1)

    # retrieval
    fusion: str = Field(default="rrf", pattern="^(rrf|dense|bm25)$")
    # Measured on evals/sample_qa.jsonl (both halves): k=10 with BM25 weighted 2:1 over dense beat plain
    # RRF (k=60, 1:1) on hit@1 (0.873 → 0.909) at equal hit@5; `qa eval --compare` re-measures it.
    rrf_k: int = Field(default=10, ge=1)
    rrf_dense_weight: float = Field(default=1.0, ge=0.0)
    rrf_bm25_weight: float = Field(default=2.0, ge=0.0)
    candidates: int = Field(default=30, ge=1, le=1000)
    top_k: int = Field(default=5, ge=1, le=100)
    # the answerer reads each retrieved passage with this many times its length of text on either side
    # (whole sentences): the answer often sits next to the chunk that matched the question
    context_reach: float = Field(default=1.0, ge=0.0, le=5.0)

    # the fitted answer model (`qa calibrate`); unset: <index_dir>/calibration/<embedding model>.json, else the
    # packaged one
    answer_model: Path | None = None

    # answering with an OpenAI-compatible LLM; unset base URL means the extractive answerer
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=120.0, gt=0)
    # after the LLM failed, answer extractively without asking it for this long (0: ask every time)
    llm_rest_s: float = Field(default=30.0, ge=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_max_tokens: int = Field(default=384, ge=16)
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    prompts_dir: Path | None = None

    # ingest: files are read, chunked and embedded in a separate, lower-priority worker process, never on the
    # threads that answer. Per-file limits (413 beyond them, naming the limit): bytes once unpacked (a DOCX's
    # parts, a PDF's page content streams as drawn), pages, characters of text, passages, CPU seconds to read.
    max_decompressed_bytes: int = Field(default=64 * 2**20, ge=1024)
    max_pages: int = Field(default=2000, ge=1)
    max_chars: int = Field(default=2_000_000, ge=1)
    max_chunks: int = Field(default=10_000, ge=1)
    max_parse_seconds: float = Field(default=120.0, gt=0)
    ingest_workers: int = Field(default=1, ge=1)
    # idle this long, the worker processes stop (each holds a copy of the embedding model); 0: never
    ingest_worker_idle_seconds: float = Field(default=300.0, ge=0)
    # `qa serve` answers (the extractive stage) in this many worker processes, so scoring a question does not hold
    # the server's interpreter lock (qa/answer/processes.py; 8 clients, 100k chunks, 2 cores: 81 -> 100 req/s);
    # -1: half the CPUs, at least one; 0: in a thread of the server's own process.
    answer_processes: int = Field(default=-1, ge=-1)
    # uploads larger than this (all files together) answer 202 with a job instead of waiting for the ingest
    job_threshold_bytes: int = Field(default=1_000_000, ge=0)
    # ingests waiting or running at once (uploads and jobs); beyond it, 503 until one finishes
    max_queued_ingests: int = Field(default=16, ge=1)

    # conversations: a follow-up is rewritten into a standalone question before retrieval, by the LLM when one
    # is configured (and this is true), else by carrying words of the earlier questions (qa/conversation/)
    condense_with_llm: bool = True
    # the rewrite delays retrieval: it gets a short deadline of its own, then the no-LLM rewrite takes over
    condense_timeout_s: float = Field(default=15.0, gt=0)
    condense_max_tokens: int = Field(default=96, ge=16)
    # `history` on /v1/ask and earlier messages on /v1/chat/completions: more is a 422 naming the limit
    max_history_messages: int = Field(default=40, ge=0)
    max_history_chars: int = Field(default=20_000, ge=0)

    # open collections hold file descriptors and their vectors in memory: the least recently used are closed
    # past this many, and any unused for this long
    max_open_collections: int = Field(default=64, ge=1)
    collection_idle_seconds: float = Field(default=600.0, gt=0)

    # HTTP service
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_keys: CsvList = Field(default_factory=list)
    # `key:collection` pairs a public web page may embed: they can only ask, only those collections, and
    # only from QA_CORS_ORIGINS (a key listed without a collection may use QA_COLLECTION)
    public_keys: CsvList = Field(default_factory=list)
    cors_origins: CsvList = Field(default_factory=list)
    max_question_chars: int = Field(default=2000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=20_000_000, ge=1024)
    # per key, or per client address when no keys are set (loopback is exempt then: a local install is
    # not throttling its own scripts)
    rate_limit_per_minute: int = Field(default=120, ge=0)
    # per visitor address of a public key, on top of the key's own limit
    visitor_rate_limit_per_minute: int = Field(default=30, ge=0)
    # requests with a missing or wrong key, per client address; beyond it every request from there is a 429
    auth_failures_per_minute: int = Field(default=10, ge=0)
    # addresses or networks of reverse proxies whose X-Forwarded-For names the client; no one else's is believed
    trusted_proxies: CsvList = Field(default_factory=list)
    # /metrics, /docs and /openapi.json need a full key when keys are set, unless this is true
    metrics_public: bool = False

    _split = field_validator("api_keys", "public_keys", "cors_origins", "trusted_proxies", mode="before")(_split_csv)

    @property
    def query_batch_window_s(self) -> float | None:
        """The micro-batching window in seconds; None when queries are not batched."""
        return None if self.query_batch_window_ms < 0 else self.query_batch_window_ms / 1000.0

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)

    def collection_dir(self, name: str) -> Path:
        return self.index_dir / name

    @property
    def milvus_target(self) -> str:
        """The Milvus URI in use: QA_MILVUS_URI, else a Milvus Lite folder under the index dir."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")
