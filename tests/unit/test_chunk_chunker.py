"""Chunks: exact offsets, token budget, whole-sentence overlap, numbers intact, paragraph-aware cuts."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import opencc
import pytest

from qa.chunk.chunker import Chunker
from qa.config import Settings
from qa.types import Chunk, Document
from tests.support import SEEDS

SEED_PATHS = sorted(SEEDS.glob("*.txt"))
NUMBER = re.compile(r"\d+(?:[.,:．]\d+)*%?")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qa-cache")


def make_chunker(cache_dir: Path, tokens: int = 200, overlap: int = 40, encoding: str = "cl100k_base") -> Chunker:
    settings = Settings(
        cache_dir=cache_dir, chunk_tokens=tokens, chunk_overlap_tokens=overlap, tokenizer_encoding=encoding
    )
    return Chunker(settings)


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, source=f"{doc_id}.txt", title=doc_id, text=text, content_hash="h")


def check_invariants(chunker: Chunker, text: str, chunks: list[Chunk], budget: int) -> None:
    assert chunks, "non-empty text yields chunks"
    covered = [False] * len(text)
    for i, c in enumerate(chunks):
        assert c.ordinal == i
        assert c.text == text[c.start : c.end]
        assert c.text and not c.text[0].isspace() and not c.text[-1].isspace()
        assert chunker.count(c.text) <= budget, (chunker.count(c.text), c.text)
        for k in range(c.start, c.end):
            covered[k] = True
    for i, c in enumerate(chunks[1:], start=1):
        assert c.start > chunks[i - 1].start and c.end > chunks[i - 1].end, "chunks advance"
    missing = [text[k] for k in range(len(text)) if not covered[k] and not text[k].isspace()]
    assert not missing, "every non-whitespace character is in some chunk"
    for m in NUMBER.finditer(text):
        for c in chunks:
            assert not (m.start() < c.start < m.end()), (m.group(), c.text[:20])
            assert not (m.start() < c.end < m.end()), (m.group(), c.text[-20:])


@pytest.mark.parametrize("path", SEED_PATHS, ids=lambda p: p.stem)
@pytest.mark.parametrize(("tokens", "overlap"), [(200, 40), (64, 16), (32, 0)])
def test_seed_chunks_keep_every_invariant(cache_dir: Path, path: Path, tokens: int, overlap: int) -> None:
    text = path.read_text(encoding="utf-8")
    chunker = make_chunker(cache_dir, tokens, overlap)
    chunks = chunker.run(doc(text, path.stem))
    check_invariants(chunker, text, chunks, tokens)
    shared_pairs = 0
    for a, b in itertools.pairwise(chunks):
        if b.start < a.end:
            shared_pairs += 1
            assert overlap > 0
            assert chunker.count(text[b.start : a.end]) <= overlap
    if overlap and len(chunks) > 5:
        assert shared_pairs > 0, "long paragraphs are cut with some overlap"


def test_overlap_is_present_between_chunks_of_one_paragraph(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 200, 40)
    sentences = [f"第{i}项工作由第{i}小组负责，目标是在年底前完成{i * 3}个项目。" for i in range(1, 30)]
    text = "".join(sentences)
    chunks = chunker.run(doc(text))
    assert len(chunks) > 3
    check_invariants(chunker, text, chunks, 200)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "consecutive chunks in one paragraph share trailing sentences"
        shared = text[b.start : a.end]
        assert shared.endswith("。") and 0 < chunker.count(shared) <= 40


def test_overlap_zero_means_no_shared_text(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 64, 0)
    text = "".join(f"这是第{i}句话，内容并不重要。" for i in range(40))
    chunks = chunker.run(doc(text))
    check_invariants(chunker, text, chunks, 64)
    assert all(b.start >= a.end for a, b in itertools.pairwise(chunks))


def test_long_sentence_is_split_at_clauses_and_numbers_stay_whole(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 48, 12)
    text = "，".join(f"第{i}季度营收6.19亿元同比增长3.5%共计1,024家企业版本v2.{i}于2019.04.25发布" for i in range(12))
    text += "。"
    chunks = chunker.run(doc(text))
    assert len(chunks) > 3
    check_invariants(chunker, text, chunks, 48)
    for c in chunks:
        assert "6.1" not in c.text[-3:] and not c.text.startswith("19亿")


def test_sentence_without_any_punctuation_is_split_at_token_boundaries(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 40, 10)
    text = "我们今天讨论城市交通规划的长期目标" * 20 + "以及2024年的3.14159预算"
    chunks = chunker.run(doc(text))
    assert len(chunks) > 3
    check_invariants(chunker, text, chunks, 40)
    assert any("3.14159" in c.text for c in chunks)


def test_unbreakable_run_longer_than_budget_is_kept_whole(cache_dir: Path) -> None:
    """The one documented exception to the token bound: a single number/word longer than the budget."""
    chunker = make_chunker(cache_dir, 16, 4)
    run = "1234567890" * 20
    text = f"编号如下。{run}。后面还有一句话。"
    chunks = chunker.run(doc(text))
    holding = [c for c in chunks if run in c.text]
    assert len(holding) == 1
    assert all(c.text == text[c.start : c.end] for c in chunks)
    for c in chunks:
        assert run in c.text or chunker.count(c.text) <= 16
        # the run is never cut
        assert not (text.index(run) < c.start < text.index(run) + len(run))


def test_heading_starts_a_new_chunk_instead_of_ending_the_previous_one(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 120, 20)
    para1 = "".join(f"第一部分的第{i}句描述了总体情况。" for i in range(1, 6))
    heading = "二、主要做法"
    para2 = "".join(f"第二部分的第{i}句讲的是具体措施。" for i in range(1, 8))
    text = f"{para1}\n\n{heading}\n{para2}"
    # more than half full at the heading, and the heading plus a sentence would still fit
    assert 60 < chunker.count(para1) < 90
    chunks = chunker.run(doc(text))
    check_invariants(chunker, text, chunks, 120)
    heading_at = text.index(heading)
    assert any(c.start == heading_at for c in chunks), [c.text[:12] for c in chunks]
    assert not any(c.start < heading_at and c.text.endswith(heading) for c in chunks)
    # no overlap is carried across the paragraph break
    first_after = next(c for c in chunks if c.start >= heading_at)
    assert first_after.start == heading_at


def test_short_document_is_one_chunk_and_empty_is_none(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir)
    text = "  \n标题\n\n正文只有一句。\n "
    chunks = chunker.run(doc(text))
    assert [(c.start, c.end, c.text) for c in chunks] == [(3, 14, "标题\n\n正文只有一句。")]
    assert chunker.run(doc("")) == []
    assert chunker.run(doc(" \n\u3000")) == []


def test_o200k_encoding_works_too(cache_dir: Path) -> None:
    chunker = make_chunker(cache_dir, 64, 16, encoding="o200k_base")
    text = SEED_PATHS[0].read_text(encoding="utf-8")
    check_invariants(chunker, text, chunker.run(doc(text)), 64)


@pytest.mark.parametrize("path", SEED_PATHS[:3], ids=lambda p: p.stem)
def test_a_document_in_traditional_script_is_cut_where_its_simplified_form_is(cache_dir: Path, path: Path) -> None:
    simplified = path.read_text(encoding="utf-8")
    traditional = opencc.OpenCC("s2t").convert(simplified)
    assert len(traditional) == len(simplified) and traditional != simplified
    chunker = make_chunker(cache_dir, tokens=120, overlap=24)
    chunks = chunker.run(doc(traditional))
    assert [(c.start, c.end) for c in chunks] == [(c.start, c.end) for c in chunker.run(doc(simplified))]
    check_invariants(chunker, traditional, chunks, 120)
    # counted as written, the traditional text takes more tokens: the same cuts would not fit the budget
    as_written = [len(chunker._enc.encode_ordinary(c.text)) for c in chunks]
    assert max(as_written) > 120 and sum(as_written) > 1.05 * sum(chunker.count(c.text) for c in chunks)
