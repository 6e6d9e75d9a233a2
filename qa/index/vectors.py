"""The FAISS index of one collection: inner product on normalized vectors, ids = chunk ids.

The index is persisted as one file that starts with the docstore version it reflects, written to a temporary
name and atomically renamed, so a reader never opens a half-written index.

Which FAISS structure holds the vectors depends on the collection's size (`IndexPolicy`; figures from
bench/faiss_index_types.py in bench/RESULTS.md, 2 busy cores, one FAISS thread, e5-derived 384-dim vectors):
- exact search (`IndexIDMap2(IndexFlatIP)`) up to 50k vectors: a single query costs ~0.12 µs a vector
  (11.6 ms p50 at 100k, 162 ms at 1M), so ≤ ~6 ms here, well under the query embedding's ~20-70 ms;
- IVF-Flat above, nlist = sqrt(N) and nprobe = 10% of the lists (at least 16): recall@10 0.975 at 2.3 ms
  p50 for 100k, 0.98 at 19 ms for 1M (flat: 111-162 ms). nlist = 4·sqrt(N) needed twice the probes for
  less recall and trained 13× slower. IVF-Flat keeps the full vectors (exact scores inside the probed
  lists) and supports `remove_ids` through a hash-table direct map, so deleting a document still needs no
  rebuild.
HNSW (recall 0.975 at ~1 ms for 100k) is excluded because FAISS cannot remove ids from it; IVF-PQ (48 bytes
a vector) because its recall@10 on these vectors stayed below 0.15 at any nprobe.

The structure changes only in `rebalance()`, which `save()` calls (the collection checkpoints on ingest and
every few thousand writes): training k-means is too slow for the write path, and replays stay plain
add/remove calls that work on any structure. Hysteresis (back to flat only below half the threshold, retrain
only when the list count is off by 2×) keeps a collection hovering around a boundary from flapping.
"""

from __future__ import annotations

import logging
import math
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from qa.errors import IndexCorrupted, InvalidInput

log = logging.getLogger(__name__)

_MAGIC = b"QAVEC1\0\0"
_HEADER = struct.Struct("<8sqq")  # magic, version, dim

INDEX_KINDS = ("auto", "flat", "ivf")
# k-means needs this many points per centroid to give stable lists (FAISS warns below it).
_MIN_POINTS_PER_LIST = 39


@dataclass(frozen=True, slots=True)
class Plan:
    """The structure chosen for a collection size: kind "flat" (nlist = nprobe = 0) or "ivf"."""

    kind: str
    nlist: int = 0
    nprobe: int = 0


@dataclass(frozen=True, slots=True)
class IndexPolicy:
    """The index-type rule. Defaults come from bench/RESULTS.md (2-core EPYC, e5-small, dim 384).

    `kind`: "auto" (flat up to `flat_max` vectors, IVF-Flat above), or "flat" / "ivf" to force one.
    `nlist_factor`: nlist = factor·sqrt(N).
    `probe_fraction`, `min_nprobe`: nprobe = max(min_nprobe, ceil(fraction·nlist)), for recall@10 ≥ 0.95.
    `train_per_list`: k-means sample size per list (caps migration time; ≥ 39 keeps FAISS's lists stable).
    """

    kind: str = "auto"
    flat_max: int = 50_000
    nlist_factor: float = 1.0
    probe_fraction: float = 0.1
    min_nprobe: int = 16
    train_per_list: int = 50
    kmeans_iterations: int = 10

    def __post_init__(self) -> None:
        if self.kind not in INDEX_KINDS:
            raise InvalidInput(f"unknown vector index kind {self.kind!r}: use one of {', '.join(INDEX_KINDS)}")
        if self.flat_max < 1 or self.nlist_factor <= 0 or not 0 < self.probe_fraction <= 1 or self.min_nprobe < 1:
            raise InvalidInput(f"invalid vector index policy {self}")
        if self.train_per_list < _MIN_POINTS_PER_LIST:
            raise InvalidInput(f"train_per_list must be at least {_MIN_POINTS_PER_LIST}")

    def nlist(self, n: int) -> int:
        return max(1, min(round(self.nlist_factor * math.sqrt(n)), n // _MIN_POINTS_PER_LIST))

    def nprobe(self, nlist: int) -> int:
        return min(nlist, max(self.min_nprobe, math.ceil(self.probe_fraction * nlist)))

    def plan(self, n: int, current: Plan | None = None) -> Plan:
        """The structure for `n` vectors, given the current one (for hysteresis)."""
        flat = Plan("flat")
        if self.kind == "flat" or n < 2 * _MIN_POINTS_PER_LIST:
            return flat
        if self.kind == "auto":
            staying_ivf = current is not None and current.kind == "ivf" and n > self.flat_max // 2
            if n <= self.flat_max and not staying_ivf:
                return flat
        target = self.nlist(n)
        if current is not None and current.kind == "ivf" and current.nlist / 2 <= target <= current.nlist * 2:
            target = current.nlist  # close enough: retraining costs more than slightly unbalanced lists
        return Plan("ivf", target, self.nprobe(target))


class VectorIndex:
    """Chunk vectors by chunk id; ids can be removed without a rebuild whatever the structure."""

    def __init__(
        self, dim: int, version: int = 0, index: faiss.Index | None = None, *, policy: IndexPolicy | None = None
    ) -> None:
        self.dim = dim
        self.version = version
        self.policy = policy or IndexPolicy()
        if index is None:
            index = _new_flat(dim)
        elif not isinstance(index, faiss.IndexIDMap2 | faiss.IndexIVFFlat):
            raise IndexCorrupted(f"unexpected vector index structure {type(index).__name__}")
        self._index: faiss.IndexIDMap2 | faiss.IndexIVFFlat = index
        if isinstance(self._index, faiss.IndexIVFFlat):
            _prepare_ivf(self._index, self.policy.nprobe(self._index.nlist))

    @classmethod
    def build(
        cls, dim: int, ids: Sequence[int], vectors: np.ndarray, *, version: int = 0, policy: IndexPolicy | None = None
    ) -> VectorIndex:
        """An index holding `vectors`, already in the structure the policy picks for their number."""
        out = cls(dim, version=version, policy=policy)
        plan = out.policy.plan(len(ids))
        if plan.kind == "ivf":
            out._index = _build_ivf(dim, np.asarray(ids, dtype=np.int64), _matrix(vectors, dim), plan, out.policy)
        else:
            out.add(ids, vectors)
        return out

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def plan(self) -> Plan:
        """The structure in use now."""
        if isinstance(self._index, faiss.IndexIVFFlat):
            return Plan("ivf", int(self._index.nlist), int(self._index.nprobe))
        return Plan("flat")

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        matrix = _matrix(vectors, self.dim).reshape(len(ids), self.dim)
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

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) held, in no particular order: what a migration rebuilds from."""
        if isinstance(self._index, faiss.IndexIVFFlat):
            return _ivf_contents(self._index, self.dim)
        n = len(self)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        flat = faiss.downcast_index(self._index.index)
        return ids, np.asarray(flat.reconstruct_n(0, n), dtype=np.float32)

    def rebalance(self) -> bool:
        """Move to the structure the policy picks for the current size. Returns True when it changed.

        Costs one k-means over `train_per_list`·nlist sampled vectors plus one pass over all of them, so it runs
        at checkpoints only. The new index is built beside the old one and swapped in at the end: a failure
        leaves the index as it was.
        """
        current = self.plan
        target = self.policy.plan(len(self), current)
        if target.kind == current.kind and target.nlist == current.nlist:
            if isinstance(self._index, faiss.IndexIVFFlat) and target.nprobe != current.nprobe:
                self._index.nprobe = target.nprobe
            return False
        ids, vectors = self.contents()
        new_index: faiss.IndexIDMap2 | faiss.IndexIVFFlat
        if target.kind == "ivf":
            new_index = _build_ivf(self.dim, ids, vectors, target, self.policy)
        else:
            new_index = _new_flat(self.dim)
            if len(ids):
                new_index.add_with_ids(vectors, ids)
        log.info(
            "vector index restructured",
            extra={"vectors": len(ids), "from": current.kind, "to": target.kind, "nlist": target.nlist},
        )
        self._index = new_index
        return True

    def save(self, path: Path) -> None:
        """Rebalance, then write the snapshot atomically (temporary file, fsync, rename)."""
        self.rebalance()
        payload = faiss.serialize_index(self._index)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(_HEADER.pack(_MAGIC, self.version, self.dim))
            fh.write(payload.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, policy: IndexPolicy | None = None) -> VectorIndex:
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
        if not isinstance(index, faiss.IndexIDMap2 | faiss.IndexIVFFlat) or index.d != dim:
            raise IndexCorrupted(f"vector index {path} holds an unexpected structure ({type(index).__name__})")
        return cls(dim=dim, version=version, index=index, policy=policy)


def _matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)


def _new_flat(dim: int) -> faiss.IndexIDMap2:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _prepare_ivf(index: faiss.IndexIVFFlat, nprobe: int) -> None:
    # remove_ids and reconstruction need a direct map; the hash-table kind (unlike the array kind) allows
    # removal. It is serialized with the index, so this only matters for files written without it.
    hashtable = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]  # missing from faiss's stubs
    if index.direct_map.type != hashtable:
        index.set_direct_map_type(hashtable)
    index.nprobe = nprobe


def _build_ivf(dim: int, ids: np.ndarray, vectors: np.ndarray, plan: Plan, policy: IndexPolicy) -> faiss.IndexIVFFlat:
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, plan.nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = policy.kmeans_iterations
    index.cp.max_points_per_centroid = policy.train_per_list
    sample_size = min(len(ids), policy.train_per_list * plan.nlist)
    # A fixed seed: the same vectors always train the same lists, so rebuilds are reproducible.
    rows = np.random.default_rng(0).choice(len(ids), size=sample_size, replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(rows)]))
    _prepare_ivf(index, plan.nprobe)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors), ids)
    return index


def _ivf_contents(index: faiss.IndexIVFFlat, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Read ids and raw vectors straight from the inverted lists (IVF-Flat stores vectors uncompressed)."""
    invlists = index.invlists
    if invlists is None:
        raise IndexCorrupted("IVF vector index has no inverted lists")
    code_size = invlists.code_size
    id_parts: list[np.ndarray] = []
    vector_parts: list[np.ndarray] = []
    for list_no in range(index.nlist):
        size = invlists.list_size(list_no)
        if size == 0:
            continue
        id_parts.append(faiss.rev_swig_ptr(invlists.get_ids(list_no), size).copy())
        codes = faiss.rev_swig_ptr(invlists.get_codes(list_no), size * code_size).copy()
        vector_parts.append(codes.view(np.float32).reshape(size, dim))
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return np.concatenate(id_parts).astype(np.int64), np.ascontiguousarray(np.concatenate(vector_parts))
