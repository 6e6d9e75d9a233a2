"""The short answer an LLM answer carries: the extractive one, only where the LLM's own text says it."""

from __future__ import annotations

from qa.answer.fallback import _short_inside
from qa.types import Answer, Citation, ShortAnswer

TEXT = "城镇居民人均可支配收入为45,620元，农村居民人均可支配收入为23,180元。"


def _answers(llm_text: str, short: str) -> tuple[Answer, Answer]:
    cited = Citation(1, "income", "income.txt", "收入", TEXT, 0, len(TEXT), 1.0)
    at = TEXT.index(short)
    extractive = Answer(f"{short}[1] — {TEXT}", True, [cited], ShortAnswer(short, 1, at, at + len(short)))
    return Answer(llm_text, True, [cited], mode="llm"), extractive


def test_the_short_answer_is_kept_only_where_the_llm_says_it() -> None:
    said, extractive = _answers("城镇居民人均可支配收入为45620元。[1]", "45,620元")
    kept = _short_inside(said, [], extractive)
    assert kept is not None and kept.text == "45,620元" and kept.ref == 1
    # the LLM answered with the other figure: a headline contradicting the answer beside it is dropped
    contradicted, extractive = _answers("城镇居民人均可支配收入为45,620元。[1]", "23,180元")
    assert _short_inside(contradicted, [], extractive) is None
    named, extractive = _answers("The rural figure is lower. [1]", "农村居民")
    assert _short_inside(named, [], extractive) is None
