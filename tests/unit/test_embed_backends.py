"""The int8 ONNX build of the embedding model against the fp32 reference, and query micro-batching."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.embed.base import Embedder
from qa.embed.batching import QueryBatcher
from qa.embed.load import load_embedder
from qa.embed.onnx_int8 import MODEL_FILE, OnnxInt8Embedder, _source_id, build_onnx_int8, onnx_int8_folder
from qa.errors import ModelUnavailable

TEXTS = [
    "房寺镇下放了多少项权力?",
    "市直18个部门64项行政权力事项下放至我镇实施。",
    "營收6.19億元，同比增長3.5%，其中①②③三項指標在10～20之間。",
    "How much protein should a woman eat per day?",
]


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    return load_embedder(Settings(embed_backend="torch", query_batch_window_ms=-1))


@pytest.fixture(scope="module")
def int8() -> Embedder:
    return load_embedder(Settings(embed_backend="onnx-int8"))


def test_int8_vectors_stay_close_to_fp32(fp32: Embedder, int8: Embedder) -> None:
    assert isinstance(int8, OnnxInt8Embedder) and int8.dim == fp32.dim
    assert int8.prompts == fp32.prompts  # type: ignore[attr-defined]
    queries = np.stack([int8.embed_query(t) for t in TEXTS])
    reference = np.stack([fp32.embed_query(t) for t in TEXTS])
    assert queries.dtype == np.float32 and np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-4)
    assert (queries * reference).sum(axis=1).min() > 0.99
    passages = int8.embed_passages(TEXTS[1:], ["标题", "", "Nutrition"])
    assert (passages * fp32.embed_passages(TEXTS[1:], ["标题", "", "Nutrition"])).sum(axis=1).min() > 0.99
    assert int8.embed_passages([]).shape == (0, int8.dim)


def test_int8_query_vectors_do_not_depend_on_other_queries(int8: Embedder) -> None:
    alone = int8.embed_query(TEXTS[0])
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = int8.embed_query(TEXTS[i % len(TEXTS)])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(results[i], alone) for i in range(0, 12, len(TEXTS)))


def test_int8_ranks_the_right_passage_first(int8: Embedder) -> None:
    passages = int8.embed_passages(
        ["西山镇建成学校2所。", "房寺镇承接市直18个部门64项行政权力事项。", "蓝莓亩产800斤。"]
    )
    assert int((passages @ int8.embed_query("房寺镇承接了多少项权力")).argmax()) == 1


def test_the_build_is_made_once(tmp_path: Path) -> None:
    settings = Settings()
    first = onnx_int8_folder(settings.embedding_model, settings.cache_dir)
    stamp = (first / MODEL_FILE).stat().st_mtime_ns
    assert onnx_int8_folder(settings.embedding_model, settings.cache_dir) == first
    assert (first / MODEL_FILE).stat().st_mtime_ns == stamp


def test_a_build_stays_current_when_a_copy_keeps_its_source_mtime_to_the_second(tmp_path: Path) -> None:
    # a Docker image layer keeps mtimes to the second: the build copied with its source is still current
    source, dest = tmp_path / "model", tmp_path / "model-onnx-int8"
    source.mkdir()
    dest.mkdir()
    weights = source / "model.safetensors"
    weights.write_bytes(b"weights")
    os.utime(weights, ns=(1_795_986_243_929_185_617, 1_795_986_243_929_185_617))
    (dest / MODEL_FILE).write_bytes(b"onnx")
    (dest / "qa_onnx_build.json").write_text(json.dumps(_source_id(source)), encoding="utf-8")
    os.utime(weights, ns=(1_795_986_243_000_000_000, 1_795_986_243_000_000_000))
    assert build_onnx_int8(source, dest) == dest and (dest / MODEL_FILE).read_bytes() == b"onnx"
    # a source that really changed is built again (here refused before the export: a stand-in with no pooling)
    weights.write_bytes(b"other weights")
    (source / "modules.json").write_text("[]")
    with pytest.raises(ModelUnavailable, match="QA_EMBED_BACKEND=torch"):
        build_onnx_int8(source, dest)


def test_a_model_without_mean_pooling_is_refused_with_a_way_out(tmp_path: Path) -> None:
    source = tmp_path / "cls-model"
    (source / "1_Pooling").mkdir(parents=True)
    (source / "model.safetensors").write_bytes(b"x")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (source / "modules.json").write_text(json.dumps(modules))
    (source / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ModelUnavailable, match="QA_EMBED_BACKEND=torch"):
        build_onnx_int8(source, tmp_path / "out")


def test_concurrent_queries_share_model_calls_and_get_their_own_vectors(fp32: Embedder) -> None:
    calls: list[int] = []
    gate = threading.Event()
    encode = fp32.encode  # type: ignore[attr-defined]

    def counted(inputs: Sequence[str]) -> np.ndarray:
        calls.append(len(inputs))
        gate.wait(5)  # the first call holds the model while the other queries queue up
        return encode(inputs)  # type: ignore[no-any-return]

    batcher = QueryBatcher(counted, window_s=0.0)
    texts = [f"query: {t}" for t in TEXTS * 2]
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, batcher.encode(texts[i]))) for i in range(8)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.3)
    gate.set()
    for t in threads:
        t.join()
    batcher.close()
    assert sum(calls) == 8 and len(calls) < 8
    for i, text in enumerate(texts):
        assert np.allclose(results[i], encode([text])[0], atol=1e-4)


def test_a_failing_model_call_reaches_every_waiting_caller() -> None:
    def broken(inputs: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model failed")

    batcher = QueryBatcher(broken, window_s=0.01)
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.encode("query: x")
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.encode("query: x")
