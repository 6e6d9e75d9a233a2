"""The extractive answerer over real slices of the sample corpus (lexical scoring, no embedder)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from qa.answer.base import AnswerDelta
from qa.answer.citations import REFUSAL_EN, REFUSAL_ZH
from qa.answer.extractive import ExtractiveAnswerer
from qa.config import Settings
from qa.types import Answer, Passage

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"
DOC_A = "000_a7a2b6a9367c36c2"
DOC_B = "001_d0c4d6f7d8e882fc"
DOC_C = "003_99a266f6085778b9"

ENGLISH_DOC = (
    "Harbor District Annual Report\n\n"
    "The district council met in March. It approved a new library for the east side. "
    "The library will cost 4.2 million dollars and open in 2027. "
    "The council also delegated 37 licensing powers to the district office. "
    "Residents asked for more bus routes.\n"
)


def stored(doc_id: str) -> str:
    if doc_id == "english":
        return ENGLISH_DOC
    return (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")


def passage(doc_id: str, anchor: str, *, before: int = 150, after: int = 250, rank: int = 0) -> Passage:
    text = stored(doc_id)
    at = text.index(anchor)
    start, end = max(0, at - before), min(len(text), at + after)
    return Passage(
        chunk_id=rank,
        doc_id=doc_id,
        source=f"{doc_id}.txt",
        title=text.splitlines()[0],
        text=text[start:end],
        start=start,
        end=end,
        score=1.0 / (rank + 1),
    )


def answer(question: str, passages: list[Passage]) -> Answer:
    return asyncio.run(ExtractiveAnswerer(Settings()).run(question, passages))


def assert_exact(ans: Answer) -> None:
    for c in ans.citations:
        assert stored(c.doc_id)[c.start : c.end] == c.text


def test_headline_gives_both_counts_each_cited_to_its_sentence() -> None:
    ans = answer("房寺镇下放了多少项权力?", [passage(DOC_A, "市直18个部门64项")])
    assert ans.found and ans.mode == "extractive"
    assert "64" in ans.answer and "413" in ans.answer
    by_ref = {c.ref: c for c in ans.citations}
    # each number is followed by the marker of the citation that contains it
    for number in ("64项", "413项"):
        after = ans.answer[ans.answer.index(number) :]
        ref = int(after[after.index("[") + 1 : after.index("]")])
        assert number in by_ref[ref].text
    assert len(ans.citations) == 2
    assert ans.warnings == []
    assert_exact(ans)


def test_two_documents_same_facts_not_repeated() -> None:
    passages = [passage(DOC_B, "梳理行政权力事项510项", rank=0), passage(DOC_A, "市直18个部门64项", rank=1)]
    ans = answer("房寺镇下放了多少项权力?", passages)
    assert ans.found
    assert "64" in ans.answer and "413" in ans.answer
    # the sentence listing 510 = 33 + 64 + 413 already says everything: nothing is quoted twice
    assert ans.answer.count("413") == 1
    assert 1 <= len(ans.citations) <= 4
    assert_exact(ans)


def test_unanswerable_year_is_refused() -> None:
    passages = [passage(DOC_A, "市直18个部门64项"), passage(DOC_B, "梳理行政权力事项510项", rank=1)]
    ans = answer("房寺镇2030年的GDP目标是多少?", passages)
    assert not ans.found
    assert ans.citations == []
    assert ans.answer == REFUSAL_ZH


def test_off_topic_question_is_refused() -> None:
    ans = answer("珠穆朗玛峰的海拔有多高?", [passage(DOC_A, "市直18个部门64项")])
    assert not ans.found and ans.answer == REFUSAL_ZH


def test_no_passages_is_refused_in_the_question_language() -> None:
    ans = answer("How many powers were delegated?", [])
    assert not ans.found and ans.answer == REFUSAL_EN


def test_year_in_question_is_a_constraint_that_can_be_met() -> None:
    ans = answer("谭坊镇2018年共梳理了多少个重点项目?", [passage(DOC_C, "全镇共梳理新建")])
    assert ans.found
    assert "22" in ans.answer
    assert_exact(ans)


def test_english_document_and_question() -> None:
    doc = Passage(
        chunk_id=0,
        doc_id="english",
        source="english.txt",
        title="Harbor District Annual Report",
        text=ENGLISH_DOC,
        start=0,
        end=len(ENGLISH_DOC),
        score=1.0,
    )
    ans = answer("How many licensing powers were delegated to the district office?", [doc])
    assert ans.found
    assert "37" in ans.answer
    assert ans.answer.count("[1]") == 1
    (c,) = ans.citations
    assert c.text == "The council also delegated 37 licensing powers to the district office."
    assert_exact(ans)
    when = answer("When will the library open?", [doc])
    assert "2027" in when.answer
    assert not answer("How many hospitals does the district have?", [doc]).found


def test_stream_yields_the_text_then_the_answer() -> None:
    async def collect() -> list[object]:
        answerer = ExtractiveAnswerer(Settings())
        return [e async for e in answerer.stream("房寺镇下放了多少项权力?", [passage(DOC_A, "市直18个部门64项")])]

    events = asyncio.run(collect())
    assert len(events) == 2
    delta, final = events
    assert isinstance(delta, AnswerDelta) and isinstance(final, Answer)
    assert delta.text == final.answer
