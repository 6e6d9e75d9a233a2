"""The SQLite docstore of one collection: documents, chunks (with their embeddings and BM25 terms) and the
operation log that brings the FAISS and keyword snapshots up to date.

Everything a write changes is in one transaction, so SQLite alone decides what the collection holds.
WAL mode lets readers keep a consistent snapshot while a writer commits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorrupted
from qa.types import Chunk, Document

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    added_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    updated_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS chunk_terms (chunk_id INTEGER PRIMARY KEY, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oplog (
    version INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'del')),
    chunk_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oplog_version ON oplog(version);
"""


@dataclass(frozen=True, slots=True)
class StoredChunk:
    chunk_id: int
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DocumentRow:
    doc_id: str
    source: str
    title: str
    content_hash: str
    n_chunks: int
    added_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class NewChunks:
    """A document's chunks with their BM25 terms (space-joined) and embeddings, ready to be written."""

    chunks: Sequence[Chunk]
    terms: Sequence[str]
    embeddings: np.ndarray


class DocStore:
    """Thread-safe access to one collection's SQLite file (one connection, serialized by a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupted(f"docstore {path} cannot be opened: {exc}") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- metadata ------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def version(self) -> int:
        value = self.get_meta("version")
        return int(value) if value is not None else 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @staticmethod
    def bump_version(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        version = (int(row[0]) if row else 0) + 1
        DocStore.set_meta(conn, "version", str(version))
        return version

    # -- writes (inside a transaction) ---------------------------------------------------------------
    @staticmethod
    def delete_document(conn: sqlite3.Connection, doc_id: str, version: int) -> list[int]:
        """Remove a document, its chunks and their terms; log the removed chunk ids. Returns them."""
        ids = [int(r[0]) for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
        if ids:
            conn.executemany("DELETE FROM chunk_terms WHERE chunk_id = ?", [(i,) for i in ids])
            conn.executemany(
                "INSERT INTO oplog(version, op, chunk_id) VALUES (?, 'del', ?)", [(version, i) for i in ids]
            )
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return ids

    @staticmethod
    def insert_document(
        conn: sqlite3.Connection,
        doc: Document,
        new: NewChunks,
        version: int,
        *,
        stamps: tuple[float | None, float | None] = (None, None),
    ) -> list[int]:
        """`stamps` (added_at, updated_at) keep a copied document's times; None means now."""
        conn.execute(
            "INSERT INTO documents(doc_id, source, title, text, content_hash, n_chunks) VALUES (?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.source, doc.title, doc.text, doc.content_hash, len(new.chunks)),
        )
        added_at, updated_at = stamps
        if added_at is not None or updated_at is not None:
            conn.execute(
                "UPDATE documents SET added_at = COALESCE(?, added_at), updated_at = COALESCE(?, updated_at) "
                "WHERE doc_id = ?",
                (added_at, updated_at, doc.doc_id),
            )
        ids: list[int] = []
        vectors = np.ascontiguousarray(new.embeddings, dtype=np.float32)
        for chunk, terms, vector in zip(new.chunks, new.terms, vectors, strict=True):
            cur = conn.execute(
                'INSERT INTO chunks(doc_id, ordinal, start, "end", text, embedding) VALUES (?, ?, ?, ?, ?, ?)',
                (doc.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.text, vector.tobytes()),
            )
            chunk_id = int(cur.lastrowid or 0)
            ids.append(chunk_id)
            conn.execute("INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)", (chunk_id, terms))
        conn.executemany("INSERT INTO oplog(version, op, chunk_id) VALUES (?, 'add', ?)", [(version, i) for i in ids])
        return ids

    def prune_oplog(self, up_to_version: int) -> None:
        """Drop log entries a saved FAISS snapshot already reflects; readers older than that reload the file."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM oplog WHERE version <= ?", (up_to_version,))
            self.set_meta(conn, "oplog_floor", str(up_to_version))

    # -- reads ---------------------------------------------------------------------------------------
    def document_by_source(self, source: str) -> DocumentRow | None:
        return self._one_document("source = ?", source)

    def document_row(self, doc_id: str) -> DocumentRow | None:
        return self._one_document("doc_id = ?", doc_id)

    def _one_document(self, where: str, value: str) -> DocumentRow | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc_id, source, title, content_hash, n_chunks, added_at, updated_at FROM documents WHERE "
                + where,
                (value,),
            ).fetchone()
        return None if row is None else DocumentRow(*row)

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc_id, source, title, text, content_hash FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else Document(*row)

    def documents(self) -> list[DocumentRow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT doc_id, source, title, content_hash, n_chunks, added_at, updated_at FROM documents "
                "ORDER BY doc_id"
            ).fetchall()
        return [DocumentRow(*r) for r in rows]

    def counts(self) -> tuple[int, int]:
        with self._lock:
            docs = self._conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            chunks = self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(docs), int(chunks)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._conn.execute(
                'SELECT c.chunk_id, c.doc_id, d.source, d.title, c.text, c.start, c."end" '
                f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks})",
                list(chunk_ids),
            ).fetchall()
        return {int(r[0]): StoredChunk(*r) for r in rows}

    def document_chunks(self, doc_id: str, dim: int) -> tuple[list[int], list[Chunk], np.ndarray]:
        """One document's chunk ids, chunks and vectors, in reading order, read in one snapshot."""
        with self._lock:
            rows = self._conn.execute(
                'SELECT chunk_id, ordinal, start, "end", text, embedding FROM chunks WHERE doc_id = ? ORDER BY ordinal',
                (doc_id,),
            ).fetchall()
        ids = [int(r[0]) for r in rows]
        chunks = [Chunk(doc_id, int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]
        matrix = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return ids, chunks, matrix

    def embeddings(self, chunk_ids: Sequence[int] | None, dim: int) -> tuple[list[int], np.ndarray]:
        """Stored vectors for the given chunk ids (all chunks when None); missing ids are left out."""
        with self._lock:
            if chunk_ids is None:
                rows = self._conn.execute("SELECT chunk_id, embedding FROM chunks ORDER BY chunk_id").fetchall()
            else:
                rows = []
                ids = list(chunk_ids)
                for i in range(0, len(ids), 500):
                    batch = ids[i : i + 500]
                    marks = ",".join("?" * len(batch))
                    rows += self._conn.execute(
                        f"SELECT chunk_id, embedding FROM chunks WHERE chunk_id IN ({marks})", batch
                    ).fetchall()
        if not rows:
            return [], np.zeros((0, dim), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return [int(r[0]) for r in rows], matrix

    def oplog_since(self, version: int) -> tuple[list[tuple[str, int]], int] | None:
        """Operations after `version` (oldest first) and the version they lead to, read in one snapshot;
        None when the log was pruned past `version` (the caller reloads the saved snapshot instead)."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                floor_row = self._conn.execute("SELECT value FROM meta WHERE key = 'oplog_floor'").fetchone()
                if version < (int(floor_row[0]) if floor_row else 0):
                    return None
                rows = self._conn.execute(
                    "SELECT op, chunk_id FROM oplog WHERE version > ? ORDER BY rowid", (version,)
                ).fetchall()
                current_row = self._conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            finally:
                self._conn.execute("COMMIT")
        return [(str(op), int(c)) for op, c in rows], (int(current_row[0]) if current_row else 0)

    def oplog_size(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM oplog").fetchone()[0])

    def terms(self, chunk_ids: Sequence[int] | None) -> list[tuple[int, str]]:
        """(chunk id, space-joined BM25 terms) of the given chunks (all when None), by chunk id."""
        with self._lock:
            if chunk_ids is None:
                return [
                    (int(r[0]), str(r[1]))
                    for r in self._conn.execute("SELECT chunk_id, terms FROM chunk_terms ORDER BY chunk_id")
                ]
            rows: list[tuple[int, str]] = []
            ids = list(chunk_ids)
            for i in range(0, len(ids), 500):
                batch = ids[i : i + 500]
                marks = ",".join("?" * len(batch))
                rows += [
                    (int(r[0]), str(r[1]))
                    for r in self._conn.execute(
                        f"SELECT chunk_id, terms FROM chunk_terms WHERE chunk_id IN ({marks})", batch
                    )
                ]
        return sorted(rows)

    def chunk_texts(self) -> Iterator[list[tuple[int, str]]]:
        """Every chunk's (id, text), in batches: what re-tokenizing a collection reads."""
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT chunk_id, text FROM chunks WHERE chunk_id > ? ORDER BY chunk_id LIMIT 2000", (last,)
                ).fetchall()
            if not rows:
                return
            last = int(rows[-1][0])
            yield [(int(r[0]), str(r[1])) for r in rows]

    @staticmethod
    def replace_terms(conn: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
        conn.executemany(
            "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?) "
            "ON CONFLICT(chunk_id) DO UPDATE SET terms = excluded.terms",
            rows,
        )

    @staticmethod
    def drop_legacy_fts(conn: sqlite3.Connection) -> None:
        """Collections made before the in-memory BM25 index kept their terms in an FTS5 table."""
        conn.execute("DROP TABLE IF EXISTS chunks_fts")
