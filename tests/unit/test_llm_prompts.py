"""Prompt templates: language choice, passage numbering and trimming, and the refusal contract with citations."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer import prompts
from qa.answer.citations import finalize_answer, looks_like_refusal
from qa.text import detect_lang
from qa.types import Passage


def _p(n: int, text: str, title: str = "标题") -> Passage:
    return Passage(n, f"d{n}", f"d{n}.txt", title, text, 0, len(text), 1.0)


@pytest.mark.parametrize(
    ("question", "lang"),
    [("房寺镇下放了多少项权力?", "zh"), ("How many powers?", "en"), ("What is 六办两中心?", "zh"), ("¿Cuántos?", "en")],
)
def test_answer_language_follows_the_question(question: str, lang: str) -> None:
    assert detect_lang(question) == lang
    assert prompts.load_templates(lang).language == lang


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refusal_rule_says_the_exact_refusal_sentence(lang: str) -> None:
    templates = prompts.load_templates(lang)
    sentence = prompts.refusal_sentence(lang)
    assert sentence in templates.refusal_rule and "$refusal" not in templates.refusal_rule
    # the citation step must read the model's refusal as "not found"
    answer = finalize_answer(sentence, "问题?" if lang == "zh" else "Q?", [], mode="llm")
    assert looks_like_refusal(sentence) and not answer.found
    assert answer.answer == sentence


def test_messages_number_passages_with_titles_and_end_with_the_question() -> None:
    passages = [_p(1, "甲镇有12个村。"), _p(2, "乙镇有5个村。", title="乙镇概况")]
    system, user = prompts.build_messages("甲镇有几个村?", passages)
    assert system["role"] == "system" and user["role"] == "user"
    assert "[1] 《标题》\n甲镇有12个村。" in user["content"]
    assert "[2] 《乙镇概况》\n乙镇有5个村。" in user["content"]
    assert user["content"].index("[2]") < user["content"].index("甲镇有几个村?")
    assert prompts.refusal_sentence("zh") in system["content"]


def test_refusal_rule_is_left_out_across_languages() -> None:
    """Measured: asked in English over Chinese passages, the 1.5B model refused answerable questions."""
    system, _ = prompts.build_messages("How many villages?", [_p(1, "甲镇有12个村。")])
    assert prompts.refusal_sentence("en") not in system["content"]
    system, _ = prompts.build_messages("How many villages?", [_p(1, "The town has 12 villages.")])
    assert prompts.refusal_sentence("en") in system["content"]


def test_long_passages_are_cut_at_a_sentence_end() -> None:
    text = "第一句话很短。" + "第二句话" * 40 + "。第三句。"
    # the only sentence end is too early to keep most of the budget: hard cut
    assert prompts.trim_text(text, 100) == text[:100] + "…"
    assert prompts.trim_text("甲" * 60 + "。" + "乙" * 100, 100) == "甲" * 60 + "。…"
    assert prompts.trim_text("短。", 100) == "短。"
    assert prompts.trim_text("a  b\n\n\nc", 100) == "a b\nc"


def test_selection_keeps_the_best_and_stops_at_the_budget() -> None:
    many = [_p(i, "字" * 700) for i in range(1, 9)]
    chosen = prompts.select_passages(many, max_passages=5, max_total_chars=1800)
    assert [p.chunk_id for p in chosen] == [1, 2, 3]
    assert prompts.select_passages([_p(1, "字" * 5000)], max_total_chars=10) == [_p(1, "字" * 5000)]
    assert prompts.select_passages([]) == []


def test_configured_prompts_dir_wins(tmp_path: Path) -> None:
    for part, text in (("system", "SYS"), ("refusal", "REF"), ("user", "Q=$question P=$passages")):
        (tmp_path / f"answer_en.{part}.md").write_text(text, encoding="utf-8")
    system, user = prompts.build_messages("Why $x?", [_p(1, "Because.")], prompts_dir=tmp_path)
    assert system["content"] == "SYS\nREF"
    assert user["content"] == "Q=Why $x? P=[1] 《标题》\nBecause."


def test_missing_templates_name_where_they_were_looked_for(tmp_path: Path) -> None:
    with pytest.raises(prompts.PromptsNotFound, match=r"answer_fr\.system\.md"):
        prompts.load_templates("fr", tmp_path)
