"""Question analysis: language, kind, units, keywords, constraints and parts."""

from __future__ import annotations

import pytest

from qa.answer.question import analyze, detect_lang, split_parts


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("某镇下放了多少项权力?", "number"),
        ("该县有几家银行?", "number"),
        ("城镇化率的比例是多少", "number"),
        ("会议是什么时候召开的?", "date"),
        ("哪一年被确定为试点?", "date"),
        ("镇党委书记是谁?", "person"),
        ("示范园区在哪里?", "place"),
        ("什么是五代理一审计?", "definition"),
        ("组织架构整合为什么?", "definition"),
        ("为什么要整合组织架构?", "reason"),
        ("是否完成了改造?", "yesno"),
        ("How many towns are there?", "number"),
        ("What percentage of residents are insured?", "number"),
        ("When was the plan announced?", "date"),
        ("In which year was it founded?", "date"),
        ("Who is the party secretary?", "person"),
        ("Where is the park?", "place"),
        ("Why was the office merged?", "reason"),
        ("What is a pilot town?", "definition"),
        ("Is the project finished?", "yesno"),
    ],
)
def test_kind(question: str, kind: str) -> None:
    assert analyze(question).kind == kind


def test_language() -> None:
    assert detect_lang("房寺镇下放了多少项权力?") == "zh"
    assert detect_lang("How many powers were delegated to Fangsi?") == "en"
    assert detect_lang("GDP是多少?") == "zh"


def test_units_named_by_the_question() -> None:
    assert analyze("下放了多少项权力?").units == ("项",)
    assert analyze("规模以上企业达到多少家?").units == ("家",)
    assert analyze("总投资多少亿元?").units[0] in {"亿", "元"}
    assert "%" in analyze("参保比例有多高?").units
    assert analyze("What percentage is insured?").units == ("%",)


def test_keywords_drop_stop_words_and_question_words() -> None:
    info = analyze("房寺镇下放了多少项权力?")
    assert "下放" in info.keywords and "权力" in info.keywords
    for word in ("多少", "了", "项", "?"):
        assert word not in info.keywords
    # rarer words weigh more than common ones
    assert info.weights["下放"] > info.weights["镇"]


def test_english_keywords_lower_cased_without_stop_words() -> None:
    info = analyze("How many administrative powers were delegated to the town?")
    assert info.lang == "en"
    assert set(info.keywords) == {"administrative", "powers", "delegated", "town"}


def test_numbers_in_the_question_are_constraints() -> None:
    assert analyze("某镇2030年的GDP目标是多少?").numbers == ("2030",)
    assert analyze("Ｘ镇２０３０年的目标").numbers == ("2030",)


def test_multi_part_questions_split() -> None:
    assert split_parts("甲镇财政收入是多少?去年研发投入多少?") == ("甲镇财政收入是多少?", "去年研发投入多少?")
    assert split_parts("甲园区和乙园区分别要盘活多少家企业?") == (
        "甲园区要盘活多少家企业?",
        "乙园区要盘活多少家企业?",
    )
    assert split_parts("某镇下放了多少项权力?") == ()
    assert split_parts("在大李店、友谊社区建设小学投资了多少钱?") == ()
