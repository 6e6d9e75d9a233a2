"""The Milvus store (`QA_STORE=milvus`): every collection lives in Milvus, so API replicas share nothing else.

`QA_MILVUS_URI` is a Milvus Lite folder (in-process, one process at a time; `milvus-lite server` serves one to
several processes) or `http(s)://host:19530` for a Milvus server or cluster. Only the URI changes between them.

Each qa collection is two Milvus collections:
- `qa_<name>_chunks`: one row per chunk: the vector, the text with its offsets, doc id, title, and a normalized
  folded copy of the text (`qa.text.fold`) that Milvus's own BM25 function analyzes with its jieba tokenizer (a
  sparse vector field).
- `qa_<name>_docs`: per document one head row (metadata and the generation it points to) and its stored text
  in rows of at most one VARCHAR (65,535 bytes) each.

Milvus has no multi-row transactions, so a write is ordered to make a single row its commit point: a new version
of a document (a fresh generation) writes its text rows and chunk rows first, then upserts the head row; only
then are older generations swept. Readers trust a chunk only when its document's head names its generation, so
a write killed midway (or a delete racing a search) never shows a half document: the orphans stay invisible
and the next write of that document removes them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from qa.config import Settings
from qa.errors import InvalidInput, StoreUnavailable
from qa.index.docstore import StoredChunk
from qa.index.store import DocumentChange, DocumentInfo, StoredDocument
from qa.query.lexicon import Spellings
from qa.segment import index_terms
from qa.text import fold
from qa.types import Chunk, Document

log = logging.getLogger(__name__)

MAX_VARCHAR_BYTES = 65_535
# One insert request stays well under gRPC's message limit (Milvus's default is 64 MB and up).
_BATCH_BYTES = 8 * 1024 * 1024
_KEYS_PER_QUERY = 1000
# how far before the newest head it has read `name_terms` looks again (a write's rows and head land within
# seconds of its generation; ten minutes leaves room for a slow batch)
_NAMES_LOOKBACK_NS = 600 * 10**9
_SCAN_BATCH = 1000
FORMAT = 1
# the meta row's `source` for a collection whose passages are embedded in simplified script (qa.embed.prompted)
_SIMPLIFIED = "simplified"
# search mode emits a long word and its sub-words, as the embedded store's terms do; punctuation is no term
ANALYZER = {"tokenizer": "jieba", "filter": ["lowercase", "removepunct"]}
_HEAD_FIELDS = ["key", "doc_id", "source", "title", "content_hash", "generation", "n_chunks", "n_parts"]
_HEAD_FIELDS += ["added_at", "updated_at"]
# a hit needs only its id; asking for one small field keeps Milvus Lite from returning every field
_HIT = ["generation"]
_CHUNK_FIELDS = ["chunk_id", "doc_key", "generation", "doc_id", "title", "ordinal", "start", "end", "text"]


def is_lite(uri: str) -> bool:
    """A local path (Milvus Lite) rather than a server address."""
    return urlparse(uri).scheme.lower() not in ("http", "https", "tcp", "grpc", "unix")


def milvus_names(name: str) -> tuple[str, str]:
    """The Milvus collection names (chunks, docs) for a qa collection. Milvus allows letters, digits and '_'
    only, so '_', '-' and '.' are escaped one-to-one (`_` → `__`, `-` → `_h`, `.` → `_d`)."""
    escaped = name.replace("_", "__").replace("-", "_h").replace(".", "_d")
    return f"qa_{escaped}_chunks", f"qa_{escaped}_docs"


def qa_name(milvus_name: str) -> str | None:
    """The qa collection a Milvus `..._docs` collection belongs to, None for any other collection."""
    if not (milvus_name.startswith("qa_") and milvus_name.endswith("_docs")):
        return None
    escaped, out, i = milvus_name[3:-5], [], 0
    while i < len(escaped):
        if escaped[i] != "_":
            out.append(escaped[i])
            i += 1
            continue
        pair = escaped[i : i + 2]
        if pair not in ("__", "_h", "_d"):
            return None
        out.append({"__": "_", "_h": "-", "_d": "."}[pair])
        i += 2
    return "".join(out) or None


def _key(value: str) -> str:
    """Filters compare hex digests, never user strings: no quoting rules to get wrong on any Milvus version."""
    return sha256(value.encode("utf-8")).hexdigest()[:32]


def _keys_literal(keys: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{k}"' for k in keys) + "]"


def _bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def _check_varchar(what: str, value: str) -> None:
    if _bytes(value) > MAX_VARCHAR_BYTES:
        raise InvalidInput(f"{what} is longer than Milvus's VARCHAR limit of {MAX_VARCHAR_BYTES} bytes")


def split_text(text: str, limit: int = MAX_VARCHAR_BYTES) -> list[str]:
    """The text in consecutive parts of at most `limit` UTF-8 bytes, never splitting a character."""
    if _bytes(text) <= limit:
        return [text]
    parts: list[str] = []
    start, size = 0, 0
    for i, ch in enumerate(text):
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            parts.append(text[start:i])
            start, size = i, 0
        size += width
    parts.append(text[start:])
    return parts


def keyword_text(text: str) -> str:
    """What the BM25 analyzer reads: the text folded as the embedded store's terms are (`qa.text.fold`: full-width
    digits and letters as ASCII, lower case, traditional script simplified), so both scripts share one vocabulary
    here too; the chunk's own text stays untouched for citations. Milvus's analyzer runs on the server, where
    nothing of ours can fold, hence the folded copy. Rows written before folding keep their unfolded copy until
    their document is written again (re-ingest, or `qa migrate` there and back)."""
    return fold(text)


def query_text(query_terms: Sequence[str]) -> str:
    """The query for Milvus's analyzer. It cuts in search mode again, so a sub-word of another term
    (房寺 of 房寺镇) is left for it to regenerate rather than counted twice."""
    unique = [t for t in dict.fromkeys(query_terms) if t.strip()]
    kept = [t for t in unique if not any(t != other and t in other for other in unique)]
    return " ".join(keyword_text(t) for t in kept)


class _Generations:
    """Write generations: increasing in this process, and time-ordered across replicas."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


# Milvus's code for "collection not loaded"
_NOT_LOADED = 101


@contextmanager
def _milvus_errors(uri: str) -> Iterator[None]:
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise StoreUnavailable(f"Milvus at {uri} failed: {exc.message}") from exc


@dataclass(frozen=True, slots=True)
class _Head:
    doc_id: str
    source: str
    title: str
    content_hash: str
    generation: int
    n_chunks: int
    n_parts: int
    added_at: float
    updated_at: float

    @classmethod
    def of(cls, row: dict[str, Any]) -> _Head:
        return cls(
            str(row["doc_id"]),
            str(row["source"]),
            str(row["title"]),
            str(row["content_hash"]),
            int(row["generation"]),
            int(row["n_chunks"]),
            int(row["n_parts"]),
            float(row["added_at"]),
            float(row["updated_at"]),
        )

    def info(self) -> DocumentInfo:
        return DocumentInfo(
            self.doc_id, self.source, self.title, self.content_hash, self.n_chunks, self.added_at, self.updated_at
        )


@dataclass(frozen=True, slots=True)
class _Write:
    doc_key: str
    generation: int
    head: dict[str, Any]
    parts: list[dict[str, Any]]
    chunks: list[dict[str, Any]]
    replaces: str | None


class MilvusCollection:
    """One qa collection in Milvus (see the module docstring for the layout and the write order)."""

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        uri: str,
        model_name: str,
        dim: Callable[[], int],
        index_type: str,
        generations: _Generations,
    ) -> None:
        self.name = name
        self._client = client
        self._uri = uri
        self._chunks_name, self._docs_name = milvus_names(name)
        self._index_type = index_type
        self._generations = generations
        self._mutex = threading.RLock()
        # the words pinyin names are looked up in (`name_terms`), and the version of each document read into them
        self._names_lock = threading.Lock()
        self._spellings = Spellings()
        self._names_seen: set[str] = set()  # the words fed to `_spellings`: every chunk repeats many of them
        self._names_read: dict[str, int] = {}
        self._names_since = 0
        self._model_name = model_name
        # read from the meta row when opened: it changes only while the collection is empty (a migration's
        # target), and a replica that opened it empty before then reads it again when it reopens the collection
        self.embeds_simplified = True
        with self._errors():
            if not (client.has_collection(self._chunks_name) and client.has_collection(self._docs_name)):
                self._create(dim())
            for collection in (self._docs_name, self._chunks_name):
                client.load_collection(collection)
            self.dim = self._check_model(model_name, dim)

    def _errors(self) -> AbstractContextManager[None]:
        return self._milvus_errors()

    @contextmanager
    def _milvus_errors(self) -> Iterator[None]:
        """Milvus failures as StoreUnavailable. A Milvus restarted under a running service holds this collection
        released, and every search fails until it is loaded again: it is loaded then, so the next call works."""
        from pymilvus.exceptions import MilvusException

        try:
            with _milvus_errors(self._uri):
                yield
        except StoreUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, MilvusException) and (cause.code == _NOT_LOADED or "load()" in str(cause.message)):
                with contextlib.suppress(MilvusException):
                    for collection in (self._docs_name, self._chunks_name):
                        self._client.load_collection(collection)
                    log.warning("Milvus collection %s was released (a Milvus restart?): loaded it again", self.name)
            raise

    # -- schema --------------------------------------------------------------------------------------
    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        docs = MilvusClient.create_schema(auto_id=False, description="qa documents: head rows and stored text")
        docs.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
        docs.add_field("kind", DataType.VARCHAR, max_length=8)
        docs.add_field("doc_key", DataType.VARCHAR, max_length=64)
        docs.add_field("source_key", DataType.VARCHAR, max_length=64)
        docs.add_field("generation", DataType.INT64)
        docs.add_field("doc_id", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        docs.add_field("source", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        docs.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        docs.add_field("content_hash", DataType.VARCHAR, max_length=128)
        docs.add_field("n_chunks", DataType.INT64)
        docs.add_field("n_parts", DataType.INT64)
        docs.add_field("part", DataType.INT64)
        docs.add_field("added_at", DataType.DOUBLE)
        docs.add_field("updated_at", DataType.DOUBLE)
        docs.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        # Milvus requires a vector field in every collection; documents are never searched by vector.
        docs.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        docs_index = self._client.prepare_index_params()
        docs_index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")

        chunks = MilvusClient.create_schema(auto_id=True, description="qa chunks: vectors, text and BM25 terms")
        chunks.add_field("chunk_id", DataType.INT64, is_primary=True)
        chunks.add_field("doc_key", DataType.VARCHAR, max_length=64)
        chunks.add_field("generation", DataType.INT64)
        chunks.add_field("doc_id", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        chunks.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        chunks.add_field("ordinal", DataType.INT64)
        chunks.add_field("start", DataType.INT64)
        chunks.add_field("end", DataType.INT64)
        chunks.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
        chunks.add_field(
            "keywords", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, enable_analyzer=True, analyzer_params=ANALYZER
        )
        chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        chunks.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["keywords"],
                output_field_names=["sparse"],
            )
        )
        chunks_index = self._client.prepare_index_params()
        chunks_index.add_index(field_name="vector", index_type=self._index_type, metric_type="IP")
        chunks_index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")

        # Docs first: `exists` needs both, so a creation cut short is finished by the next open.
        for collection, schema, index in (
            (self._docs_name, docs, docs_index),
            (self._chunks_name, chunks, chunks_index),
        ):
            if self._client.has_collection(collection):
                continue
            try:
                self._client.create_collection(collection, schema=schema, consistency_level="Strong")
            except Exception:
                if not self._client.has_collection(collection):  # else another replica created it meanwhile
                    raise
            # not waiting for the build: the collections are empty, and Milvus Lite cannot report progress
            self._client.create_index(collection, index, sync=False)

    def _meta_row(self, model_name: str, dim: int, script: str) -> dict[str, Any]:
        meta = {"key": "meta", "kind": "meta", "doc_key": "", "source_key": "", "generation": 0, "doc_id": ""}
        meta |= {"source": script, "title": model_name, "content_hash": "", "n_chunks": dim, "n_parts": 0}
        meta |= {"part": FORMAT, "added_at": time.time(), "updated_at": time.time(), "text": ""}
        return meta | {"unused": [0.0, 0.0]}

    def _check_model(self, model_name: str, dim: Callable[[], int]) -> int:
        """The embedding model, the dimension and how passages are embedded (its `source`: "simplified", or
        empty for collections made before passages were) are recorded in a `meta` row, written once by the
        first opener."""
        rows = self._client.query(
            self._docs_name, filter='key == "meta"', output_fields=["title", "n_chunks", "part", "source"]
        )
        if not rows:
            new_dim = dim()
            self._client.upsert(self._docs_name, [self._meta_row(model_name, new_dim, _SIMPLIFIED)])
            self.embeds_simplified = True
            return new_dim
        self.embeds_simplified = rows[0].get("source") == _SIMPLIFIED
        stored_model, stored_dim = str(rows[0]["title"]), int(rows[0]["n_chunks"])
        if stored_model != model_name:
            raise InvalidInput(
                f"collection '{self.name}' was indexed with embedding model {stored_model}, "
                f"but the configured model is {model_name}: set QA_EMBEDDING_MODEL back, "
                "or ingest into a new collection"
            )
        return stored_dim

    def set_embeds_simplified(self, value: bool) -> None:
        if value == self.embeds_simplified:
            return
        with self._mutex, self._errors():
            if self.documents():
                how = "in simplified script" if self.embeds_simplified else "as written"
                raise InvalidInput(
                    f"collection '{self.name}' holds documents embedded {how}: copy into a new collection"
                )
            row = self._meta_row(self._model_name, self.dim, _SIMPLIFIED if value else "")
            self._client.upsert(self._docs_name, [row])
        self.embeds_simplified = value

    def close(self) -> None:
        """The client belongs to the backend, which closes it."""

    def writing(self) -> AbstractContextManager[object]:
        """Serializes this process's writers. Milvus has no cross-replica lock: concurrent writes of one document
        on two replicas end with one whole version (the later generation), never a mix."""
        return self._mutex

    def checkpoint(self) -> None:
        """Seal the rows written so far into segments (Milvus Lite writes them out; a server persists its
        growing segments), so the next open replays no log."""
        with self._errors():
            self._client.flush(self._chunks_name)
            self._client.flush(self._docs_name)

    # -- writes --------------------------------------------------------------------------------------
    def apply(self, changes: Sequence[DocumentChange], deletions: Sequence[str] = ()) -> None:
        if not changes and not deletions:
            return
        with self._mutex, self._errors():
            for doc_id in deletions:
                self._delete(doc_id)
            if not changes:
                return
            writes = [self._prepare(change) for change in changes]
            self._insert(self._docs_name, [row for w in writes for row in w.parts])
            self._insert(self._chunks_name, [row for w in writes for row in w.chunks])
            current = self._heads([w.doc_key for w in writes])
            # a newer version written meanwhile by another replica wins; this one's rows are dropped
            committed = [w for w in writes if w.doc_key not in current or current[w.doc_key].generation < w.generation]
            if committed:
                self._client.upsert(self._docs_name, [w.head for w in committed])  # the commit points
            won = {w.generation for w in committed}
            for w in committed:
                if w.replaces is not None and _key(w.replaces) != w.doc_key:
                    self._delete(w.replaces)
            # One sweep for the whole batch (a filtered delete scans in Milvus Lite): every generation of this
            # batch is newer than `oldest`, so below it lie only replaced versions and interrupted writes.
            oldest = min(w.generation for w in writes)
            self._sweep([w.doc_key for w in committed], f"generation < {oldest}")
            for w in writes:
                if w.generation not in won:
                    self._sweep([w.doc_key], f"generation == {w.generation}")

    def _prepare(self, change: DocumentChange) -> _Write:
        doc = change.document
        for what, value in (("doc_id", doc.doc_id), ("source", doc.source), ("title", doc.title)):
            _check_varchar(f"document {what}", value)
        doc_key, generation = _key(doc.doc_id), self._generations.next()
        now = time.time()
        parts = split_text(doc.text)
        head = {
            "key": f"h{doc_key}",
            "kind": "head",
            "doc_key": doc_key,
            "source_key": _key(doc.source),
            "generation": generation,
            "doc_id": doc.doc_id,
            "source": doc.source,
            "title": doc.title,
            "content_hash": doc.content_hash,
            "n_chunks": len(change.new.chunks),
            "n_parts": len(parts),
            "part": -1,
            "added_at": change.added_at if change.added_at is not None else now,
            "updated_at": change.updated_at if change.updated_at is not None else now,
            "text": "",
            "unused": [0.0, 0.0],
        }
        part_rows = [
            head | {"key": f"t{doc_key}.{generation}.{i}", "kind": "text", "part": i, "text": part, "source_key": ""}
            for i, part in enumerate(parts)
        ]
        vectors = np.ascontiguousarray(change.new.embeddings, dtype=np.float32).reshape(-1, self.dim)
        chunk_rows = []
        for chunk, vector in zip(change.new.chunks, vectors, strict=True):
            _check_varchar("a chunk's text", chunk.text)
            chunk_rows.append(
                {
                    "doc_key": doc_key,
                    "generation": generation,
                    "doc_id": doc.doc_id,
                    "title": doc.title,
                    "ordinal": chunk.ordinal,
                    "start": chunk.start,
                    "end": chunk.end,
                    "text": chunk.text,
                    "keywords": keyword_text(chunk.text),
                    "vector": vector.tolist(),
                }
            )
        return _Write(doc_key, generation, head, part_rows, chunk_rows, change.replaces)

    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            row_size = sum(_bytes(v) for v in row.values() if isinstance(v, str)) + 4 * len(row.get("vector", ()))
            if batch and size + row_size > _BATCH_BYTES:
                self._client.insert(collection, batch)
                batch, size = [], 0
            batch.append(row)
            size += row_size
        if batch:
            self._client.insert(collection, batch)

    def _sweep(self, doc_keys: Sequence[str], generations: str) -> None:
        """Remove the documents' chunk and text rows of the given generations (never a head)."""
        for i in range(0, len(doc_keys), _KEYS_PER_QUERY):
            keys = _keys_literal(doc_keys[i : i + _KEYS_PER_QUERY])
            self._client.delete(self._chunks_name, filter=f"doc_key in {keys} and {generations}")
            self._client.delete(self._docs_name, filter=f'kind == "text" and doc_key in {keys} and {generations}')

    def _delete(self, doc_id: str) -> bool:
        doc_key = _key(doc_id)
        head = self._heads([doc_key]).get(doc_key)
        if head is None:
            return False
        self._client.delete(self._docs_name, ids=[f"h{doc_key}"])  # the commit point of a delete
        # only what that head covered: a newer version another replica is writing right now survives
        self._sweep([doc_key], f"generation <= {head.generation}")
        return True

    def delete(self, doc_id: str) -> bool:
        with self._mutex, self._errors():
            return self._delete(doc_id)

    # -- reads ---------------------------------------------------------------------------------------
    def _heads(self, doc_keys: Iterable[str]) -> dict[str, _Head]:
        keys = [f"h{k}" for k in dict.fromkeys(doc_keys)]
        out: dict[str, _Head] = {}
        for i in range(0, len(keys), _KEYS_PER_QUERY):
            rows = self._client.query(
                self._docs_name, filter=f"key in {_keys_literal(keys[i : i + _KEYS_PER_QUERY])}",
                output_fields=_HEAD_FIELDS,
            )  # fmt: skip
            out.update({str(r["key"])[1:]: _Head.of(r) for r in rows})
        return out

    def _scan(self, collection: str, filter: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        iterator = self._client.query_iterator(collection, batch_size=_SCAN_BATCH, filter=filter, output_fields=fields)
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    def _text(self, doc_key: str, head: _Head) -> str | None:
        rows = self._client.query(
            self._docs_name,
            filter=f'kind == "text" and doc_key == "{doc_key}" and generation == {head.generation}',
            output_fields=["part", "text"],
        )
        if len(rows) != head.n_parts:
            return None  # swept by a concurrent write: that version is gone
        return "".join(str(r["text"]) for r in sorted(rows, key=lambda r: int(r["part"])))

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        params: dict[str, Any] = {"metric_type": "IP"}
        if self._index_type == "HNSW":
            params["params"] = {"ef": max(64, k)}
        with self._errors():
            hits = self._client.search(
                self._chunks_name, data=[vector], anns_field="vector", limit=k, search_params=params, output_fields=_HIT
            )[0]
        return [(int(h.id), float(h.distance)) for h in hits]

    def name_terms(self, names: Sequence[str]) -> list[str]:
        """As the embedded store's: Milvus keeps its BM25 vocabulary on the server, so the words are the chunks'
        own terms (`index_terms` of the folded text its analyzer reads), read once per version of a document. Each
        call reads the heads written since shortly before the newest it has seen (all of them the first time)."""
        if not names:
            return []
        with self._names_lock, self._errors():
            recent = f'kind == "head" and generation > {self._names_since}'
            heads = {
                str(r["doc_key"]): int(r["generation"])
                for r in self._scan(self._docs_name, recent, ["doc_key", "generation"])
            }
            unread = [key for key, generation in heads.items() if self._names_read.get(key) != generation]
            for i in range(0, len(unread), _KEYS_PER_QUERY):
                keys = unread[i : i + _KEYS_PER_QUERY]
                rows = self._scan(
                    self._chunks_name, f"doc_key in {_keys_literal(keys)}", ["doc_key", "generation", "keywords"]
                )
                for row in rows:
                    if heads[str(row["doc_key"])] == int(row["generation"]):  # not a version being swept
                        terms = dict.fromkeys(index_terms(str(row["keywords"])))
                        new = [t for t in terms if t not in self._names_seen]
                        self._names_seen.update(new)
                        self._spellings.add(new)
                self._names_read.update((key, heads[key]) for key in keys)
            if heads:
                # generations are times, taken when a write starts; its head lands seconds later, so a write that
                # started before the newest head read may still land: look that far back again next time
                self._names_since = max(self._names_since, max(heads.values()) - _NAMES_LOOKBACK_NS)
            return self._spellings.find(names)

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        text = query_text(query_terms)
        if not text or k <= 0:
            return []
        with self._errors():
            hits = self._client.search(
                self._chunks_name,
                data=[text],
                anns_field="sparse",
                limit=k,
                search_params={"metric_type": "BM25"},
                output_fields=_HIT,
            )[0]
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score: the magnitude is the score
        return [(int(h.id), abs(float(h.distance))) for h in hits]

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not chunk_ids:
            return {}
        ids = [int(i) for i in dict.fromkeys(chunk_ids)]
        with self._errors():
            rows = self._client.query(self._chunks_name, filter=f"chunk_id in {ids}", output_fields=_CHUNK_FIELDS)
            heads = self._heads(str(r["doc_key"]) for r in rows)
        out: dict[int, StoredChunk] = {}
        for r in rows:
            head = heads.get(str(r["doc_key"]))
            if head is None or head.generation != int(r["generation"]):
                continue  # not (or no longer) committed: never cited
            out[int(r["chunk_id"])] = StoredChunk(
                int(r["chunk_id"]), head.doc_id, head.source, head.title, str(r["text"]), int(r["start"]), int(r["end"])
            )
        return out

    def document(self, doc_id: str) -> Document | None:
        doc_key = _key(doc_id)
        with self._errors():
            head = self._heads([doc_key]).get(doc_key)
            text = None if head is None else self._text(doc_key, head)
        if head is None or text is None:
            return None
        return Document(head.doc_id, head.source, head.title, text, head.content_hash)

    def document_row(self, doc_id: str) -> DocumentInfo | None:
        with self._errors():
            head = self._heads([_key(doc_id)]).get(_key(doc_id))
        return None if head is None else head.info()

    def document_by_source(self, source: str) -> DocumentInfo | None:
        with self._errors():
            rows = self._client.query(
                self._docs_name,
                filter=f'kind == "head" and source_key == "{_key(source)}"',
                output_fields=_HEAD_FIELDS,
            )
        heads = [_Head.of(r) for r in rows if r["source"] == source]
        return max(heads, key=lambda h: h.generation).info() if heads else None

    def _all_heads(self) -> list[_Head]:
        heads = [_Head.of(r) for r in self._scan(self._docs_name, 'kind == "head"', _HEAD_FIELDS)]
        return sorted(heads, key=lambda h: h.doc_id)

    def documents(self) -> list[DocumentInfo]:
        with self._errors():
            return [h.info() for h in self._all_heads()]

    def export(self) -> Iterator[StoredDocument]:
        with self._errors():
            heads = self._all_heads()
        for head in heads:
            doc_key = _key(head.doc_id)
            with self._errors():
                text = self._text(doc_key, head)
                rows = list(
                    self._scan(
                        self._chunks_name,
                        f'doc_key == "{doc_key}" and generation == {head.generation}',
                        [*_CHUNK_FIELDS, "vector"],
                    )
                )
            if text is None or len(rows) != head.n_chunks:
                continue  # replaced or deleted while exporting
            rows.sort(key=lambda r: int(r["ordinal"]))
            chunks = [
                Chunk(head.doc_id, int(r["ordinal"]), int(r["start"]), int(r["end"]), str(r["text"])) for r in rows
            ]
            vectors = np.asarray([r["vector"] for r in rows], dtype=np.float32).reshape(len(rows), self.dim)
            document = Document(head.doc_id, head.source, head.title, text, head.content_hash)
            yield StoredDocument(head.info(), document, [int(r["chunk_id"]) for r in rows], chunks, vectors)

    def stats(self) -> dict[str, int]:
        with self._errors():
            docs = self._client.query(self._docs_name, filter='kind == "head"', output_fields=["count(*)"])
            rows = self._client.query(self._chunks_name, filter="", output_fields=["count(*)"])
        n_docs, n_rows = int(docs[0]["count(*)"]), int(rows[0]["count(*)"])
        # rows of versions being written or swept right now count too: "chunks" is what Milvus holds
        return {"documents": n_docs, "chunks": n_rows, "vectors": n_rows}


class MilvusBackend:
    """The qa collections in one Milvus database."""

    kind = "milvus"

    def __init__(
        self, client: Any, *, uri: str, model_name: str, dim: Callable[[], int], index_type: str = "AUTOINDEX"
    ) -> None:
        self._client = client
        self.uri = uri
        self._model_name = model_name
        self._dim = dim
        self._index_type = index_type
        self._generations = _Generations()

    @classmethod
    def from_settings(cls, settings: Settings, dim: Callable[[], int]) -> MilvusBackend:
        uri = settings.milvus_target
        index_type = settings.milvus_index
        if index_type == "auto":
            index_type = "FLAT" if is_lite(uri) else "AUTOINDEX"
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        client = connect(uri, token=token, db=settings.milvus_db)
        return cls(client, uri=uri, model_name=settings.embedding_model, dim=dim, index_type=index_type)

    def names(self) -> list[str]:
        with _milvus_errors(self.uri):
            present = set(self._client.list_collections())
        names = (qa_name(c) for c in present)
        return sorted(n for n in names if n is not None and milvus_names(n)[0] in present)

    def exists(self, name: str) -> bool:
        chunks, docs = milvus_names(name)
        with _milvus_errors(self.uri):
            return bool(self._client.has_collection(chunks) and self._client.has_collection(docs))

    def open(self, name: str) -> MilvusCollection:
        return MilvusCollection(
            self._client,
            name,
            uri=self.uri,
            model_name=self._model_name,
            dim=self._dim,
            index_type=self._index_type,
            generations=self._generations,
        )

    def drop(self, name: str) -> None:
        """Remove a collection entirely (a failed migration's partial copy)."""
        with _milvus_errors(self.uri):
            for collection in milvus_names(name):
                self._client.drop_collection(collection)

    def close(self) -> None:
        self._client.close()


class _LiteTimestampNotice(logging.Filter):
    """Milvus Lite (in-process or `milvus-lite server`) has no MVCC timestamps: pymilvus's query iterator warns
    and reads at the client's clock instead, which is right for a single Lite engine. Only that notice is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mvccTs" not in record.getMessage()


def connect(uri: str, *, token: str = "", db: str | None = None) -> Any:
    """A MilvusClient for `uri`, in database `db` (created when missing). Errors name the URI and what to do."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    iterator_log = logging.getLogger("pymilvus.orm.iterator")
    if not any(isinstance(f, _LiteTimestampNotice) for f in iterator_log.filters):
        iterator_log.addFilter(_LiteTimestampNotice())
    if is_lite(uri):
        scheme = urlparse(uri).scheme
        if len(scheme) > 1:  # one letter is a Windows drive
            raise InvalidInput(
                f"QA_MILVUS_URI {uri!r}: unsupported scheme {scheme!r}; use http(s)://host:port or a path ending in .db"
            )
        path = Path(uri)
        if path.suffix != ".db":
            raise InvalidInput(f"QA_MILVUS_URI {uri!r}: a Milvus Lite path must end in .db (or use http://host:port)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"QA_MILVUS_URI {uri!r}: cannot make its folder ({exc.strerror or exc})") from exc
    try:
        client = MilvusClient(uri=uri, token=token)
    except MilvusException as exc:
        hint = (
            " A Milvus Lite folder can be open in one process only: stop the other one, or serve the folder with "
            "`milvus-lite server --data-dir DIR --host 127.0.0.1 --port N` and set QA_MILVUS_URI=http://127.0.0.1:N."
            if is_lite(uri)
            else " Check that the server is up and QA_MILVUS_TOKEN is right."
        )
        raise StoreUnavailable(f"cannot open Milvus at {uri}: {exc.message}.{hint}") from exc
    if db:
        with _milvus_errors(uri):
            if db not in client.list_databases():
                client.create_database(db)
            client.use_database(db)
    return client
