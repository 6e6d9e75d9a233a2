"""The vector index and its index-type rule, on small real FAISS indexes with a low flat threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexCorrupted, InvalidInput
from qa.index.vectors import IndexPolicy, Plan, VectorIndex

DIM = 32
# flat up to 600 vectors; IVF lists need 39 points each, so 2,000 vectors give real IVF lists
POLICY = IndexPolicy(flat_max=600)


def _clustered(n: int, seed: int, centers: int = 25) -> np.ndarray:
    """Unit vectors around a few centres: neighbours are meaningful, as with text embeddings."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centers, DIM))
    points = middle[rng.integers(0, centers, size=n)] + rng.normal(scale=0.35, size=(n, DIM))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def _exact(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [int(ids[i]) for i in order]


def _recall(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    hits = 0
    for q in queries:
        found = {i for i, _ in index.search(q, k)}
        hits += len(found & set(_exact(ids, vectors, q, k)))
    return hits / (k * len(queries))


def test_plan_follows_size_with_hysteresis() -> None:
    assert POLICY.plan(0) == Plan("flat")
    assert POLICY.plan(600) == Plan("flat")
    ivf = POLICY.plan(2000)
    assert ivf.kind == "ivf" and ivf.nlist == 45 and ivf.nprobe == 16  # round(sqrt(2000)), min_nprobe
    # once IVF, stay IVF down to half the threshold, and keep the lists until they are 2x off
    assert POLICY.plan(400, ivf) == Plan("ivf", 10, 10)  # lists retrained when 2x off
    assert POLICY.plan(299, ivf) == Plan("flat")
    assert POLICY.plan(601) == Plan("ivf", 15, 15)  # nlist capped so each list gets 39 training points
    assert POLICY.plan(5000, ivf).nlist == 45
    assert POLICY.plan(10_000, ivf).nlist == 100
    assert IndexPolicy(kind="flat").plan(1_000_000) == Plan("flat")
    assert IndexPolicy(kind="ivf").plan(1000).kind == "ivf"
    assert IndexPolicy(kind="ivf").plan(50) == Plan("flat")  # too few vectors to train any list


def test_policy_rejects_unknown_kind() -> None:
    with pytest.raises(InvalidInput, match="hnsw"):
        IndexPolicy(kind="hnsw")
    with pytest.raises(InvalidInput):
        IndexPolicy(train_per_list=5)


def test_migration_keeps_add_remove_search_save_load(tmp_path: Path) -> None:
    vectors = _clustered(2000, seed=1)
    ids = np.arange(10, 2010, dtype=np.int64)
    index = VectorIndex(DIM, version=3, policy=POLICY)
    index.add(ids.tolist(), vectors)
    queries = _clustered(40, seed=2)
    assert index.plan.kind == "flat"  # writes never restructure: only saves do
    assert _recall(index, ids, vectors, queries) == 1.0

    path = tmp_path / "vectors.faiss"
    index.save(path)
    assert index.plan == Plan("ivf", 45, 16)
    assert _recall(index, ids, vectors, queries) >= 0.9

    # remove works without a rebuild, and removed ids are never returned
    removed = ids[:500]
    index.remove(removed.tolist())
    assert len(index) == 1500
    gone = set(removed.tolist())
    for q in vectors[:50]:  # the removed vectors themselves are the hardest queries
        assert not gone & {i for i, _ in index.search(q, 20)}
    # add after migration goes into the trained lists
    extra = _clustered(100, seed=3)
    extra_ids = np.arange(5000, 5100, dtype=np.int64)
    index.add(extra_ids.tolist(), extra)
    assert index.search(extra[7], 1)[0][0] == 5007

    index.save(path)
    loaded = VectorIndex.load(path, policy=POLICY)
    assert loaded.version == 3 and loaded.plan == index.plan and len(loaded) == 1600
    live_ids = np.concatenate([ids[500:], extra_ids])
    live = np.concatenate([vectors[500:], extra])
    assert _recall(loaded, live_ids, live, queries) >= 0.9
    got_ids, got_vectors = loaded.contents()
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], live_ids)
    np.testing.assert_allclose(got_vectors[order], live, atol=1e-6)
    loaded.remove(live_ids[:10].tolist())  # remove still works on a loaded IVF index
    assert len(loaded) == 1590

    # shrinking below half the threshold goes back to exact search, with the same contents
    loaded.remove(live_ids[10:1400].tolist())
    assert len(loaded) == 200
    loaded.save(path)
    assert loaded.plan == Plan("flat")
    again = VectorIndex.load(path, policy=POLICY)
    assert again.plan == Plan("flat") and len(again) == 200
    assert _recall(again, live_ids[1400:], live[1400:], queries) == 1.0


def test_build_picks_the_structure_directly() -> None:
    vectors = _clustered(3000, seed=4)
    ids = list(range(3000))
    built = VectorIndex.build(DIM, ids, vectors, version=7, policy=POLICY)
    assert built.plan.kind == "ivf" and built.version == 7 and len(built) == 3000
    assert _recall(built, np.arange(3000), vectors, _clustered(30, seed=5)) >= 0.9
    small = VectorIndex.build(DIM, ids[:100], vectors[:100], policy=POLICY)
    assert small.plan == Plan("flat") and len(small) == 100
    assert not small.rebalance()


def test_forced_flat_policy_undoes_ivf_on_save(tmp_path: Path) -> None:
    vectors = _clustered(1500, seed=6)
    built = VectorIndex.build(DIM, list(range(1500)), vectors, policy=POLICY)
    path = tmp_path / "v.faiss"
    built.save(path)
    flat = VectorIndex.load(path, policy=IndexPolicy(kind="flat"))
    assert flat.plan.kind == "ivf"  # loading never restructures
    flat.save(path)
    assert VectorIndex.load(path).plan == Plan("flat")
    assert flat.search(vectors[3], 1)[0][0] == 3


def test_corrupt_files_raise_typed_errors(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    path.write_bytes(b"QAV")
    with pytest.raises(IndexCorrupted, match="truncated"):
        VectorIndex.load(path)
    path.write_bytes(b"x" * 64)
    with pytest.raises(IndexCorrupted, match="not a qa vector index"):
        VectorIndex.load(path)
    index = VectorIndex(DIM)
    index.add([1], _clustered(1, seed=7))
    index.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupted, match="cannot be read"):
        VectorIndex.load(path)


def test_collection_migrates_at_checkpoint_and_reopens(tmp_path: Path) -> None:
    """Through the real Collection with the default policy: crossing the flat threshold at a checkpoint
    moves the snapshot to IVF; a reopened collection replays later writes into it and deletes still work."""
    import hashlib

    from qa.index import Collection, DocumentChange
    from qa.index.docstore import NewChunks
    from qa.types import Chunk, Document

    dim = 8
    per_doc = 1000
    n_docs = IndexPolicy().flat_max // per_doc + 5
    rng = np.random.default_rng(11)
    all_vectors = rng.normal(size=(n_docs * per_doc, dim)).astype(np.float32)
    all_vectors /= np.linalg.norm(all_vectors, axis=1, keepdims=True)

    def change(d: int) -> DocumentChange:
        text = "x" * per_doc
        doc = Document(f"d{d}", f"/c/d{d}.txt", f"d{d}", text, hashlib.sha256(f"{d}".encode()).hexdigest())
        chunks = [Chunk(doc.doc_id, i, i, i + 1, "x") for i in range(per_doc)]
        block = all_vectors[d * per_doc : (d + 1) * per_doc]
        return DocumentChange(doc, NewChunks(chunks, ["x"] * per_doc, block))

    path = tmp_path / "c"
    coll = Collection("c", path, model_name="m", dim=lambda: dim)
    coll.apply([change(d) for d in range(n_docs - 1)])
    coll.checkpoint()
    assert VectorIndex.load(path / "vectors.faiss").plan.kind == "ivf"
    coll.close()

    reopened = Collection("c", path, model_name="m", dim=lambda: dim)
    reopened.apply([change(n_docs - 1)])  # replayed into the loaded IVF index, no checkpoint yet
    assert reopened.stats()["vectors"] == n_docs * per_doc
    last = (n_docs - 1) * per_doc  # chunk ids start at 1
    assert reopened.dense_search(all_vectors[last + 5], 1)[0][0] == last + 6
    assert reopened.delete("d0")
    assert not {i for i, _ in reopened.dense_search(all_vectors[3], 50)} & set(range(1, per_doc + 1))
    reopened.close()
