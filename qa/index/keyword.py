"""The embedded store's BM25 index: postings of the chunks' terms in memory, scored with numpy.

The terms come from `qa.segment.index_terms`, the same for indexing and querying, and are stored per chunk in
the docstore (the truth); this index is rebuilt from them, saved as a snapshot stamped with the docstore version
it reflects and brought up to date from the docstore's operation log, exactly like the FAISS index. It replaced
SQLite FTS5, whose `bm25()` cost ~60 ms a query at 100k chunks (every posting of every query term is visited
through SQL); here a query term's postings are one numpy slice: 1.6 ms a query at 100k chunks against FTS5's
121 ms in the same run (bench/RESULTS.md, memory_per_chunk.py, busy machine).

Scoring is FTS5's BM25 (k1 = 1.2, b = 0.75, idf = ln((N − n + 0.5) / (n + 0.5)), floored at 1e-6, summed over
the distinct query terms), so rankings match what the FTS5 index gave over the same terms.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from qa.errors import IndexCorrupted
from qa.query.lexicon import Spellings
from qa.segment import TOKENIZER_VERSION, index_terms

# the query side uses the same terms; `terms` is the name the store code and its tests know them by
terms = index_terms

__all__ = ["KeywordIndex", "index_text", "terms"]

_K1 = 1.2
_B = 0.75
_MIN_IDF = 1e-6
_SEP = "\n"  # between vocabulary entries in the snapshot; terms never hold whitespace


def index_text(text: str) -> str:
    """The space-joined term string stored for a chunk."""
    return " ".join(index_terms(text))


class KeywordIndex:
    """BM25 over chunk ids. Postings live in a compacted base (term-major arrays, from the last snapshot or
    rebuild) plus a small log of later additions; removed chunks are masked until the next compaction.

    Not thread-safe: the collection serializes access, as it does for the vector index."""

    def __init__(self, *, version: int = 0, tokenizer: str = TOKENIZER_VERSION) -> None:
        self.version = version
        self.tokenizer = tokenizer
        self._vocab: dict[str, int] = {}
        self._base_ptr = np.zeros(1, dtype=np.int64)  # term id -> slice of _base_docs/_base_tfs
        self._base_docs = np.zeros(0, dtype=np.int32)
        self._base_tfs = np.zeros(0, dtype=np.uint16)
        self._added: dict[int, tuple[list[int], list[int]]] = {}  # term id -> (chunk ids, term frequencies)
        self._length = np.zeros(1024, dtype=np.float32)  # chunk id -> number of terms (0: absent)
        self._alive = np.zeros(1024, dtype=bool)
        self._count = 0
        self._total_length = 0.0
        self._dead_postings = 0
        # the vocabulary by pinyin spelling, built on first use and extended with the vocabulary (term ids only
        # grow, so the words not yet read are those past `_names_read`)
        self._spellings = Spellings()
        self._names_read = 0

    def __len__(self) -> int:
        return self._count

    # -- writes ------------------------------------------------------------------------------------------
    def _grow(self, chunk_id: int) -> None:
        if chunk_id < len(self._alive):
            return
        size = max(chunk_id + 1, 2 * len(self._alive))
        self._length = np.concatenate([self._length, np.zeros(size - len(self._length), dtype=np.float32)])
        self._alive = np.concatenate([self._alive, np.zeros(size - len(self._alive), dtype=bool)])

    def add(self, chunk_id: int, chunk_terms: Sequence[str]) -> None:
        """Index a chunk's terms. A chunk id already present is left alone: stored chunks never change (an
        update is a delete and an insert under new ids), so replaying the operation log stays idempotent."""
        if chunk_id < 0:
            raise ValueError(f"chunk ids are non-negative, got {chunk_id}")
        self._grow(chunk_id)
        if self._alive[chunk_id]:
            return
        for term, tf in Counter(chunk_terms).items():
            if not term or _SEP in term or " " in term:
                continue
            term_id = self._vocab.setdefault(term, len(self._vocab))
            docs, tfs = self._added.setdefault(term_id, ([], []))
            docs.append(chunk_id)
            tfs.append(min(tf, 65535))
        self._alive[chunk_id] = True
        self._length[chunk_id] = len(chunk_terms)
        self._count += 1
        self._total_length += len(chunk_terms)

    def add_many(self, rows: Iterable[tuple[int, str]]) -> None:
        """Index (chunk id, space-joined terms) rows, as stored in the docstore."""
        for chunk_id, joined in rows:
            self.add(chunk_id, joined.split())

    def remove(self, chunk_ids: Iterable[int]) -> None:
        for chunk_id in chunk_ids:
            if 0 <= chunk_id < len(self._alive) and self._alive[chunk_id]:
                self._alive[chunk_id] = False
                self._count -= 1
                self._total_length -= float(self._length[chunk_id])
                self._dead_postings += 1
                self._length[chunk_id] = 0.0

    # -- search ------------------------------------------------------------------------------------------
    def _postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        if term_id + 1 < len(self._base_ptr):
            lo, hi = int(self._base_ptr[term_id]), int(self._base_ptr[term_id + 1])
            docs, tfs = self._base_docs[lo:hi], self._base_tfs[lo:hi]
        else:
            docs, tfs = self._base_docs[:0], self._base_tfs[:0]
        added = self._added.get(term_id)
        if added:
            docs = np.concatenate([docs, np.asarray(added[0], dtype=np.int32)])
            tfs = np.concatenate([tfs, np.asarray(added[1], dtype=np.uint16)])
        if self._dead_postings:
            keep = self._alive[docs]
            docs, tfs = docs[keep], tfs[keep]
        return docs, tfs

    def search(self, query_terms: Iterable[str], k: int) -> list[tuple[int, float]]:
        """The k best chunks for the distinct query terms, as (chunk id, BM25 score), best first."""
        if k <= 0 or self._count == 0:
            return []
        n_docs = self._count
        avg_length = max(self._total_length / n_docs, 1e-9)
        scores: np.ndarray | None = None
        for term in dict.fromkeys(query_terms):
            term_id = self._vocab.get(term)
            if term_id is None:
                continue
            docs, tfs = self._postings(term_id)
            if len(docs) == 0:
                continue
            n = len(docs)
            idf = max(math.log((n_docs - n + 0.5) / (n + 0.5)), _MIN_IDF)
            tf = tfs.astype(np.float32)
            norm = _K1 * (1.0 - _B + _B * self._length[docs] / avg_length)
            if scores is None:
                scores = np.zeros(len(self._alive), dtype=np.float32)
            scores[docs] += idf * tf * (_K1 + 1.0) / (tf + norm)
        if scores is None:
            return []
        # every matching chunk scores above 0 (idf is floored, tf ≥ 1). The k-th best score is found by partitioning
        # the matches' scores alone, without their indices: at 100,000 chunks an argpartition of every chunk was half
        # of a search's CPU (1.3 of 2.1 ms)
        candidates = np.flatnonzero(scores > 0)
        values = scores[candidates]
        if len(values) > k:
            kth = np.partition(values, len(values) - k)[len(values) - k]
            above = values >= kth
            candidates, values = candidates[above], values[above]
        order = np.lexsort((candidates, -values))[:k]  # best first; ties by chunk id, stable across runs
        return [(int(candidates[i]), float(values[i])) for i in order]

    def terms_read_as(self, names: Sequence[str]) -> list[str]:
        """The vocabulary's words that are the Chinese for pinyin `names` (fangsi → 房寺; `Spellings`)."""
        if not names:
            return []
        if self._names_read < len(self._vocab):
            self._spellings.add(itertools.islice(self._vocab, self._names_read, None))
            self._names_read = len(self._vocab)
        return self._spellings.find(names)

    # -- snapshots ---------------------------------------------------------------------------------------
    def compact(self) -> None:
        """Merge the added postings into the base and drop those of removed chunks."""
        n_terms = len(self._vocab)
        parts_docs: list[np.ndarray] = []
        parts_tfs: list[np.ndarray] = []
        parts_terms: list[np.ndarray] = []
        base_counts = np.diff(self._base_ptr)
        if len(self._base_docs):
            parts_docs.append(self._base_docs)
            parts_tfs.append(self._base_tfs)
            parts_terms.append(np.repeat(np.arange(len(base_counts), dtype=np.int64), base_counts))
        for term_id, (added_docs, added_tfs) in self._added.items():
            parts_docs.append(np.asarray(added_docs, dtype=np.int32))
            parts_tfs.append(np.asarray(added_tfs, dtype=np.uint16))
            parts_terms.append(np.full(len(added_docs), term_id, dtype=np.int64))
        if parts_docs:
            docs = np.concatenate(parts_docs)
            tfs = np.concatenate(parts_tfs)
            term_ids = np.concatenate(parts_terms)
            keep = self._alive[docs]
            docs, tfs, term_ids = docs[keep], tfs[keep], term_ids[keep]
            order = np.lexsort((docs, term_ids))
            docs, tfs, term_ids = docs[order], tfs[order], term_ids[order]
            counts = np.bincount(term_ids, minlength=n_terms)
        else:
            docs = np.zeros(0, dtype=np.int32)
            tfs = np.zeros(0, dtype=np.uint16)
            counts = np.zeros(n_terms, dtype=np.int64)
        self._base_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._base_docs, self._base_tfs = docs, tfs
        self._added = {}
        self._dead_postings = 0

    def save(self, path: Path) -> None:
        """Write a compacted snapshot atomically (a temporary file renamed into place)."""
        self.compact()
        vocab = _SEP.join(sorted(self._vocab, key=self._vocab.__getitem__)).encode("utf-8")
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                vocab=np.frombuffer(vocab, dtype=np.uint8),
                ptr=self._base_ptr,
                docs=self._base_docs,
                tfs=self._base_tfs,
                length=self._length,
                alive=self._alive,
                meta=np.array([self.version, self._count], dtype=np.int64),
                tokenizer=np.frombuffer(self.tokenizer.encode("utf-8"), dtype=np.uint8),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        try:
            with np.load(path) as data:
                vocab_bytes = data["vocab"].tobytes()
                version, count = (int(x) for x in data["meta"])
                index = cls(version=version, tokenizer=data["tokenizer"].tobytes().decode("utf-8"))
                index._base_ptr = data["ptr"]
                index._base_docs = data["docs"]
                index._base_tfs = data["tfs"]
                index._length = data["length"]
                index._alive = data["alive"]
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise IndexCorrupted(f"keyword index {path} is unreadable: {exc}") from exc
        words = vocab_bytes.decode("utf-8").split(_SEP) if vocab_bytes else []
        if len(words) + 1 != len(index._base_ptr) or len(index._length) != len(index._alive):
            raise IndexCorrupted(f"keyword index {path} is inconsistent; it will be rebuilt from the docstore")
        index._vocab = {word: i for i, word in enumerate(words)}
        index._count = count
        index._total_length = float(index._length[index._alive].sum())
        return index
