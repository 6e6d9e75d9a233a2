"""One collection: the docstore (truth) plus the FAISS and BM25 indexes kept in step with it.

Writes commit to SQLite first, in one transaction per call, then update the in-memory indexes. Each index's
file on disk is a snapshot stamped with the docstore version it reflects; any process (the server, a CLI
ingest, a restart after `kill -9`) brings its in-memory indexes up to the docstore's version by replaying the
operation log, so no crash can leave the indexes disagreeing and no write needs a full rebuild.

The BM25 terms are stamped with the tokenizer that made them (`qa.segment.TOKENIZER_VERSION`): a collection
made by another tokenizer is re-tokenized from its stored chunk text when opened, in one transaction. Vectors are
not re-made on opening (that is a full re-embedding): a collection records how its passages were embedded
(`embeds_simplified`) and its queries are embedded the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from filelock import FileLock

from qa.errors import IndexCorrupted, InvalidInput
from qa.index.docstore import DocStore, StoredChunk
from qa.index.keyword import KeywordIndex, index_text
from qa.index.store import DocumentChange, DocumentInfo, StoredDocument
from qa.index.vectors import IndexPolicy, VectorIndex
from qa.segment import TOKENIZER_VERSION
from qa.types import Document

log = logging.getLogger(__name__)

_Index = TypeVar("_Index", VectorIndex, KeywordIndex)

DOCSTORE_FILE = "docstore.sqlite3"
VECTORS_FILE = "vectors.faiss"
KEYWORD_FILE = "keyword.npz"
LOCK_FILE = "write.lock"
# meta key and value of a collection whose passages are embedded in simplified script
_SCRIPT_KEY = "embedding_script"
_SIMPLIFIED = "simplified"
_AS_WRITTEN = "as written"

__all__ = ["Collection", "DocumentChange", "DocumentInfo"]


class Collection:
    """The embedded store (`QA_STORE=embedded`): one folder per collection under the index dir."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        model_name: str,
        dim: Callable[[], int],
        checkpoint_every: int = 2000,
        vector_policy: IndexPolicy | None = None,
    ) -> None:
        """`dim` is asked only for a new collection: an existing one knows its dimension, so opening it
        to list or read documents never loads the embedding model."""
        self.name = name
        self.path = path
        self._checkpoint_every = checkpoint_every
        self._policy = vector_policy or IndexPolicy()
        path.mkdir(parents=True, exist_ok=True)
        self._write_lock = FileLock(str(path / LOCK_FILE))
        self._mutex = threading.RLock()
        self.store = DocStore(path / DOCSTORE_FILE)
        self.dim = self._check_model(model_name, dim)
        self._retokenize_if_needed()
        self._vectors = self._load_vectors()
        self._keyword = self._load_keyword()
        self.sync()

    def close(self) -> None:
        self.store.close()

    # -- consistency -----------------------------------------------------------------------------------
    def _check_model(self, model_name: str, dim: Callable[[], int]) -> int:
        stored_model, stored_dim = self.store.get_meta("embedding_model"), self.store.get_meta("dim")
        if stored_model is None or stored_dim is None:
            new_dim = dim()
            with self._write_lock, self.store.transaction() as conn:
                DocStore.set_meta(conn, "embedding_model", model_name)
                DocStore.set_meta(conn, "dim", str(new_dim))
                DocStore.set_meta(conn, _SCRIPT_KEY, _SIMPLIFIED)
            return new_dim
        if stored_model != model_name:
            raise InvalidInput(
                f"collection '{self.name}' was indexed with embedding model {stored_model}, "
                f"but the configured model is {model_name}: set QA_EMBEDDING_MODEL back, "
                "or ingest into a new collection"
            )
        return int(stored_dim)

    @property
    def embeds_simplified(self) -> bool:
        # read each time (one indexed SQLite row): another process may set it while this one has it open
        return self.store.get_meta(_SCRIPT_KEY) == _SIMPLIFIED

    def set_embeds_simplified(self, value: bool) -> None:
        with self._write_lock:
            current = self.embeds_simplified
            if value == current:
                return
            if self.store.counts()[0]:
                how = "in simplified script" if current else "as written"
                raise InvalidInput(
                    f"collection '{self.name}' holds documents embedded {how}: copy into a new collection"
                )
            with self.store.transaction() as conn:
                DocStore.set_meta(conn, _SCRIPT_KEY, _SIMPLIFIED if value else _AS_WRITTEN)

    def _load_vectors(self) -> VectorIndex:
        file = self.path / VECTORS_FILE
        if file.exists():
            try:
                vectors = VectorIndex.load(file, policy=self._policy)
                if vectors.dim == self.dim:
                    return vectors
                log.warning("vector index dim mismatch, rebuilding", extra={"collection": self.name})
            except IndexCorrupted as exc:
                log.warning("vector index unreadable, rebuilding from the docstore: %s", exc)
        return self._rebuild_vectors()

    def _rebuild_vectors(self) -> VectorIndex:
        """Recovery only: the snapshot is missing or unreadable, so rebuild it from stored embeddings."""
        version = self.store.version()
        ids, matrix = self.store.embeddings(None, self.dim)
        return VectorIndex.build(self.dim, ids, matrix, version=version, policy=self._policy)

    def _retokenize_if_needed(self) -> None:
        if self.store.get_meta("tokenizer") == TOKENIZER_VERSION:
            return
        with self._write_lock:
            if self.store.get_meta("tokenizer") == TOKENIZER_VERSION:
                return
            with self.store.transaction() as conn:
                for batch in self.store.chunk_texts():
                    DocStore.replace_terms(conn, [(chunk_id, index_text(text)) for chunk_id, text in batch])
                DocStore.drop_legacy_fts(conn)
                DocStore.set_meta(conn, "tokenizer", TOKENIZER_VERSION)
            (self.path / KEYWORD_FILE).unlink(missing_ok=True)

    def _load_keyword(self) -> KeywordIndex:
        file = self.path / KEYWORD_FILE
        if file.exists():
            try:
                keyword = KeywordIndex.load(file)
                if keyword.tokenizer == TOKENIZER_VERSION:
                    return keyword
            except IndexCorrupted as exc:
                log.warning("keyword index unreadable, rebuilding from the docstore: %s", exc)
        return self._rebuild_keyword()

    def _rebuild_keyword(self) -> KeywordIndex:
        keyword = KeywordIndex(version=self.store.version())
        keyword.add_many(self.store.terms(None))
        keyword.compact()
        return keyword

    def sync(self) -> None:
        """Bring the in-memory indexes up to the docstore's version (cheap when nothing changed)."""
        with self._mutex:
            current = self.store.version()
            if self._vectors.version != current:
                self._vectors = self._catch_up(self._vectors, self._load_vectors, self._rebuild_vectors)
            if self._keyword.version != current:
                self._keyword = self._catch_up(self._keyword, self._load_keyword, self._rebuild_keyword)

    def _catch_up(self, index: _Index, reload: Callable[[], _Index], rebuild: Callable[[], _Index]) -> _Index:
        replay = self.store.oplog_since(index.version)
        if replay is None:
            index = reload()
            replay = self.store.oplog_since(index.version)
            if replay is None:  # the snapshot on disk is older than the pruned log: rebuild
                return rebuild()
        ops, version = replay
        self._replay(index, ops)
        index.version = version
        return index

    def _replay(self, index: VectorIndex | KeywordIndex, ops: Sequence[tuple[str, int]]) -> None:
        i = 0
        while i < len(ops):
            op = ops[i][0]
            j = i
            while j < len(ops) and ops[j][0] == op:
                j += 1
            ids = [chunk_id for _, chunk_id in ops[i:j]]
            if op == "del":
                index.remove(ids)
            elif isinstance(index, KeywordIndex):
                index.add_many(self.store.terms(ids))  # chunks already present are skipped: idempotent
            else:
                found_ids, matrix = self.store.embeddings(ids, self.dim)
                index.remove(found_ids)  # replay must be idempotent
                index.add(found_ids, matrix)
            i = j

    def checkpoint(self) -> None:
        """Save the FAISS and keyword snapshots and drop the log entries they cover."""
        with self._write_lock, self._mutex:
            self.sync()
            self._vectors.save(self.path / VECTORS_FILE)
            self._keyword.save(self.path / KEYWORD_FILE)
            self.store.prune_oplog(min(self._vectors.version, self._keyword.version))

    def _maybe_checkpoint(self) -> None:
        # Saving rewrites the whole snapshot files, so small writes only append to the log until it grows.
        missing = not (self.path / VECTORS_FILE).exists() or not (self.path / KEYWORD_FILE).exists()
        if missing or self.store.oplog_size() >= self._checkpoint_every:
            self.checkpoint()

    def writing(self) -> FileLock:
        """The collection's write lock (reentrant, across threads and processes)."""
        return self._write_lock

    # -- writes ----------------------------------------------------------------------------------------
    def apply(self, changes: Sequence[DocumentChange], deletions: Sequence[str] = ()) -> None:
        """Store `changes` and delete `deletions` in one transaction, then update FAISS."""
        if not changes and not deletions:
            return
        with self._write_lock:
            with self.store.transaction() as conn:
                version = DocStore.bump_version(conn)
                for doc_id in deletions:
                    DocStore.delete_document(conn, doc_id, version)
                for change in changes:
                    if change.replaces is not None:
                        DocStore.delete_document(conn, change.replaces, version)
                    DocStore.insert_document(
                        conn, change.document, change.new, version, stamps=(change.added_at, change.updated_at)
                    )
            self.sync()
            self._maybe_checkpoint()

    def delete(self, doc_id: str) -> bool:
        if self.store.document_row(doc_id) is None:
            return False
        self.apply([], [doc_id])
        return True

    # -- reads -----------------------------------------------------------------------------------------
    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self._mutex:
            self.sync()
            return self._vectors.search(query_vector, k)

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        with self._mutex:
            self.sync()
            return self._keyword.search(query_terms, k)

    def name_terms(self, names: Sequence[str]) -> list[str]:
        with self._mutex:
            self.sync()
            return self._keyword.terms_read_as(names)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        return self.store.chunks(chunk_ids)

    def document(self, doc_id: str) -> Document | None:
        return self.store.document(doc_id)

    def document_row(self, doc_id: str) -> DocumentInfo | None:
        return self.store.document_row(doc_id)

    def document_by_source(self, source: str) -> DocumentInfo | None:
        return self.store.document_by_source(source)

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def export(self) -> Iterator[StoredDocument]:
        for info in self.store.documents():
            document = self.store.document(info.doc_id)
            if document is None:  # deleted while exporting
                continue
            chunk_ids, chunks, vectors = self.store.document_chunks(info.doc_id, self.dim)
            yield StoredDocument(info, document, chunk_ids, chunks, vectors)

    def stats(self) -> dict[str, int]:
        docs, chunks = self.store.counts()
        with self._mutex:
            vectors = len(self._vectors)
        return {"documents": docs, "chunks": chunks, "vectors": vectors, "version": self.store.version()}


class EmbeddedBackend:
    """Collections as folders under the index dir, each holding a docstore and a FAISS snapshot."""

    kind = "embedded"

    def __init__(
        self, index_dir: Path, *, model_name: str, dim: Callable[[], int], vector_policy: IndexPolicy | None = None
    ) -> None:
        self.index_dir = index_dir
        self._model_name = model_name
        self._dim = dim
        self._policy = vector_policy

    def names(self) -> list[str]:
        if not self.index_dir.is_dir():
            return []
        return sorted(p.name for p in self.index_dir.iterdir() if (p / DOCSTORE_FILE).is_file())

    def exists(self, name: str) -> bool:
        return (self.index_dir / name / DOCSTORE_FILE).is_file()

    def open(self, name: str) -> Collection:
        return Collection(
            name, self.index_dir / name, model_name=self._model_name, dim=self._dim, vector_policy=self._policy
        )

    def close(self) -> None:
        """Nothing shared to release: each collection closes its own files."""
