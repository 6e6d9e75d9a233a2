"""The FAISS index of one collection: inner product on normalized vectors, ids = chunk ids.

The index is persisted as one file that starts with the docstore version it reflects, written to a temporary
name and atomically renamed, so a reader never opens a half-written index.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from qa.errors import IndexCorrupted

_MAGIC = b"QAVEC1\0\0"
_HEADER = struct.Struct("<8sqq")  # magic, version, dim


class VectorIndex:
    """An id-mapped flat inner-product index; ids can be removed without a rebuild."""

    def __init__(self, dim: int, version: int = 0, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self.version = version
        self._index: faiss.Index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        self._index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Sequence[int]) -> None:
        if len(ids) == 0:
            return
        self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        scores, ids = self._index.search(vector, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        payload = faiss.serialize_index(self._index)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(_HEADER.pack(_MAGIC, self.version, self.dim))
            fh.write(payload.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        data = path.read_bytes()
        if len(data) < _HEADER.size:
            raise IndexCorrupted(f"vector index {path} is truncated")
        magic, version, dim = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise IndexCorrupted(f"{path} is not a qa vector index")
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8, offset=_HEADER.size))
        except RuntimeError as exc:
            raise IndexCorrupted(f"vector index {path} cannot be read: {exc}") from exc
        return cls(dim=dim, version=version, index=index)
