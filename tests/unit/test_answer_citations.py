"""finalize_answer: marker parsing, narrowing to sentences, renumbering, invalid refs, refusals, grounding.

Passages are real slices of the sample corpus with their real offsets, so every check of
`citation.text == stored_text[start:end]` is against the stored document, not a hand-made string.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer.citations import finalize_answer, parse_refs
from qa.answer.prompts import refusal_sentence
from qa.types import Passage

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"
DOC_A = "000_a7a2b6a9367c36c2"  # 64 + 413 in two adjacent sentences
DOC_B = "001_d0c4d6f7d8e882fc"  # 510 = 33 + 64 + 413 in one sentence


def stored(doc_id: str) -> str:
    return (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")


def passage(doc_id: str, anchor: str, *, before: int = 120, after: int = 260, chunk_id: int = 0) -> Passage:
    text = stored(doc_id)
    at = text.index(anchor)
    start, end = max(0, at - before), min(len(text), at + after)
    return Passage(
        chunk_id=chunk_id,
        doc_id=doc_id,
        source=f"data/seeds/{doc_id}.txt",
        title=text.splitlines()[0],
        text=text[start:end],
        start=start,
        end=end,
        score=1.0 / (chunk_id + 1),
    )


@pytest.fixture
def passages() -> list[Passage]:
    return [passage(DOC_A, "市直18个部门64项", chunk_id=0), passage(DOC_B, "梳理行政权力事项510项", chunk_id=1)]


def assert_exact(answer_citations: list) -> None:  # type: ignore[type-arg]
    for c in answer_citations:
        assert stored(c.doc_id)[c.start : c.end] == c.text


def test_parse_refs_forms() -> None:
    assert parse_refs("1") == [1]
    assert parse_refs("1, 2") == [1, 2]
    assert parse_refs("1，3、2") == [1, 3, 2]
    assert parse_refs("2-4") == [2, 3, 4]


def test_narrows_each_marker_to_its_sentence(passages: list[Passage]) -> None:
    raw = "市直部门下放了64项行政权力事项[1],另有413项执法权限下放[1]。"
    ans = finalize_answer(raw, "房寺镇下放了多少项权力?", passages, mode="llm")
    assert ans.found and ans.mode == "llm"
    assert ans.answer == "市直部门下放了64项行政权力事项[1],另有413项执法权限下放[2]。"
    assert [c.ref for c in ans.citations] == [1, 2]
    assert "64项" in ans.citations[0].text and "413" not in ans.citations[0].text
    assert "413项" in ans.citations[1].text and "64" not in ans.citations[1].text
    assert all(c.doc_id == DOC_A for c in ans.citations)
    # a citation is a sentence, not the whole ~380-char passage
    assert all(len(c.text) < 80 for c in ans.citations)
    assert_exact(ans.citations)
    assert ans.ungrounded_numbers == []


def test_renumbers_in_order_of_first_appearance_and_merges_identical_spans(passages: list[Passage]) -> None:
    raw = "共梳理510项[2]。其中市政府下放64项[2]。市直18个部门64项下放[1]。"
    ans = finalize_answer(raw, "下放了多少项?", passages, mode="llm")
    assert ans.answer.startswith("共梳理510项[1]。其中市政府下放64项[1]。")
    assert ans.answer.endswith("[2]。")
    assert len(ans.citations) == 2
    assert ans.citations[0].doc_id == DOC_B and ans.citations[1].doc_id == DOC_A
    assert_exact(ans.citations)


def test_bracket_variants_and_adjacent_markers(passages: list[Passage]) -> None:
    raw = "下放64项【1】。共510项[1,2]。413项[2][1]"
    ans = finalize_answer(raw, "下放了多少项?", passages, mode="llm")
    assert "【" not in ans.answer
    assert {c.doc_id for c in ans.citations} == {DOC_A, DOC_B}
    assert_exact(ans.citations)
    assert ans.ungrounded_numbers == []


def test_refs_naming_no_passage_are_dropped(passages: list[Passage]) -> None:
    ans = finalize_answer("下放了64项[7]。下放了413项[2]。", "下放了多少项?", passages, mode="llm")
    assert "[7]" not in ans.answer
    assert ans.answer == "下放了64项。下放了413项[1]。"
    assert [c.doc_id for c in ans.citations] == [DOC_B]
    assert ans.warnings == []  # a marker naming no passage is dropped (and logged), not shown to clients


def test_ungrounded_numbers_are_listed(passages: list[Passage]) -> None:
    ans = finalize_answer("市直18个部门下放了65项[1]。", "下放了多少项?", passages, mode="llm")
    assert ans.found
    assert ans.ungrounded_numbers == ["65"]


@pytest.mark.parametrize(
    ("raw", "question", "expected"),
    [
        ("资料中没有找到这个问题的答案。", "房寺镇2030年的GDP目标是多少?", "zh"),
        ("资料中没有提到2030年的目标。", "房寺镇2030年的GDP目标是多少?", "zh"),
        ("The documents don't say.", "What is the 2030 GDP target?", "en"),
        ("This is not mentioned in the passages.", "What is the 2030 GDP target?", "en"),
        ("", "What is the 2030 GDP target?", "en"),
    ],
)
def test_refusals(passages: list[Passage], raw: str, question: str, expected: str) -> None:
    ans = finalize_answer(raw, question, passages, mode="llm")
    assert not ans.found
    assert ans.citations == []
    assert ans.answer == refusal_sentence(expected)  # the one wording per language, from prompts/


def test_a_refusal_is_in_the_script_of_the_question(passages: list[Passage]) -> None:
    # the LLM refusing in traditional script is a refusal too; the reply says it in the question's script
    ans = finalize_answer("資料中沒有找到這個問題的答案。", "林秀蘭的丈夫是誰？", passages, mode="llm")
    assert not ans.found and ans.answer == "資料中沒有找到這個問題的答案。"
    assert finalize_answer("", "東涌西站的造價是多少？", passages, mode="llm").answer == ans.answer
    assert finalize_answer("", "於是他去了哪里?", passages, mode="llm").answer == refusal_sentence("zh")


def test_partial_refusal_with_a_citation_stays_found(passages: list[Passage]) -> None:
    ans = finalize_answer("资料没有提到2030年目标,但下放了64项[1]。", "目标?", passages, mode="llm")
    assert ans.found and len(ans.citations) == 1


def test_claim_sharing_nothing_falls_back_to_the_passage(passages: list[Passage]) -> None:
    ans = finalize_answer("Something unrelated [1].", "x?", passages, mode="llm")
    (c,) = ans.citations
    assert c.start >= passages[0].start and c.end <= passages[0].end
    assert_exact(ans.citations)


def test_one_marker_over_two_sentences_cites_both(passages: list[Passage]) -> None:
    ans = finalize_answer("房寺镇下放了64项行政权力事项和413项执法权限[1]。", "下放了多少项?", passages, mode="llm")
    assert ans.ungrounded_numbers == []
    cited = "".join(c.text for c in ans.citations)
    assert "64项" in cited and "413项" in cited
    assert_exact(ans.citations)


def test_a_claim_in_the_other_script_is_narrowed_to_its_sentence() -> None:
    text = "綠水鎮位於東山市西北部，總面積為128.6平方公里。現任鎮長為陳建華，2023年就任。全鎮茶園面積達到1.2萬畝。"
    trad = Passage(0, "lushan", "lushan.txt", "綠水鎮", text, 0, len(text), 1.0)
    ans = finalize_answer("绿水镇的镇长是陈建华[1]。", "绿水镇的镇长是谁？", [trad], mode="llm")
    assert [c.text for c in ans.citations] == ["現任鎮長為陳建華，2023年就任。"], ans.citations
