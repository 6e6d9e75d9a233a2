"""The refusal gate and the sentence signals it is built on.

Calibration (extractive answerer, BM25 + e5 + RRF top-5 over the sample corpus): see the figures in the
answer-engine report; the thresholds in qa/answer/relevance.py come from those runs, not from these tests.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qa.answer.question import analyze
from qa.answer.relevance import assess, fact_numbers, is_answerable, keyword_coverage, type_cue
from qa.types import Passage

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"
DOC_A = "000_a7a2b6a9367c36c2"
DOC_B = "001_d0c4d6f7d8e882fc"


def passage(doc_id: str, anchor: str, *, before: int = 150, after: int = 250) -> Passage:
    text = (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")
    at = text.index(anchor)
    start, end = max(0, at - before), min(len(text), at + after)
    return Passage(0, doc_id, f"{doc_id}.txt", text.splitlines()[0], text[start:end], start, end, 1.0)


def test_keyword_coverage_full_context_and_partial() -> None:
    info = analyze("房寺镇下放了多少项权力?")
    assert keyword_coverage(info, "房寺镇下放权力事项64项") == 1.0
    sentence = "市直18个部门64项行政权力事项下放至我镇实施。"
    alone = keyword_coverage(info, sentence)
    with_title = keyword_coverage(info, sentence, "房寺镇打响协同发展新战役")
    assert 0 < alone < with_title < 1.0
    # 权限 shares a character with 权力: partial credit, less than the word itself
    assert keyword_coverage(info, "执法权限下放") < keyword_coverage(info, "权力下放")


def test_number_cue_prefers_the_unit_asked_for() -> None:
    info = analyze("下放了多少项权力?")
    assert type_cue(info, "64项行政权力事项下放") == 1.0
    assert 0 < type_cue(info, "18个部门") < 1.0
    assert type_cue(info, "权力下放") == 0.0
    assert fact_numbers(info, "市直18个部门64项行政权力事项") == ["64"]


def test_numbers_stated_by_the_question_are_not_answers() -> None:
    info = analyze("2018年梳理了多少个重点项目?")
    assert fact_numbers(info, "2018年,全镇共梳理重点项目22个。") == ["22"]
    assert type_cue(info, "2018年的工作") < type_cue(info, "重点项目22个")


def test_date_and_reason_cues() -> None:
    assert type_cue(analyze("会议什么时候召开?"), "11月25日召开会议") == 1.0
    assert type_cue(analyze("Why was it merged?"), "It was merged because costs rose.") == 1.0


def test_gate_refuses_a_year_that_appears_nowhere() -> None:
    passages = [passage(DOC_A, "市直18个部门64项"), passage(DOC_B, "梳理行政权力事项510项")]
    rel = assess(analyze("房寺镇2030年的GDP目标是多少?"), passages)
    assert not rel.answerable
    assert "2030" in rel.reason


def test_gate_passes_an_answerable_question() -> None:
    passages = [passage(DOC_A, "市直18个部门64项"), passage(DOC_B, "梳理行政权力事项510项")]
    assert is_answerable(analyze("房寺镇下放了多少项权力?"), passages)


def test_gate_refuses_low_keyword_coverage_and_empty_retrieval() -> None:
    passages = [passage(DOC_A, "市直18个部门64项")]
    assert not is_answerable(analyze("红烧肉怎么做?"), passages)
    assert not is_answerable(analyze("房寺镇下放了多少项权力?"), [])


def test_cross_language_needs_dense_similarity() -> None:
    base = passage(DOC_A, "市直18个部门64项")
    info = analyze("How many administrative powers were delegated to the town?")
    assert not is_answerable(info, [base])  # no dense signal at all: refuse rather than trust words alone
    assert is_answerable(info, [replace(base, signals={"dense": 0.86, "dense_rank": 1.0})])
    # a low dense match passes only with strong dictionary evidence; an unrelated English question has none
    other = analyze("How many goals did the football team score last season?")
    assert not is_answerable(other, [replace(base, signals={"dense": 0.70, "dense_rank": 1.0})])


def test_english_keywords_match_chinese_text_through_dictionary_and_pinyin() -> None:
    info = analyze("How many administrative villages does Tanfang town have?")
    assert "tanfang" in info.names
    assert "村" in info.units
    # translations (行政, 村, 镇) and the pinyin of the name (谭坊) all count
    assert keyword_coverage(info, "谭坊镇共有10个行政村") > keyword_coverage(info, "全市共有10个单位") + 0.5
    assert type_cue(info, "谭坊镇共有10个行政村") == 1.0  # the number is attached to the counted noun


def test_stated_period_is_a_hard_constraint() -> None:
    base = passage(DOC_A, "市直18个部门64项")
    text = "北白象镇一季度财政总收入6.19亿元。"
    p = replace(base, text=text, start=0, end=len(text), title="北白象镇", signals={"dense": 0.9, "dense_rank": 1.0})
    assert is_answerable(analyze("北白象镇一季度财政总收入是多少?"), [p])
    assert not is_answerable(analyze("北白象镇二季度财政总收入是多少?"), [p])
    assert is_answerable(analyze("What was Beibaixiang's fiscal revenue in the first quarter?"), [p])
    assert not is_answerable(analyze("What was Beibaixiang's fiscal revenue in the second quarter?"), [p])
