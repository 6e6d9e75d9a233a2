"""Grounding: numbers in an answer must appear in what it cites."""

from __future__ import annotations

from qa.answer.grounding import number_values, ungrounded_numbers
from qa.types import Citation


def _cite(text: str) -> Citation:
    return Citation(ref=1, doc_id="d", source="d.txt", title="t", text=text, start=0, end=len(text), score=1.0)


def test_number_in_cited_span_is_grounded() -> None:
    assert ungrounded_numbers("下放了64项[1]。", [_cite("市直18个部门64项行政权力事项下放至我镇实施。")]) == []


def test_number_missing_from_every_span_is_reported() -> None:
    spans = [_cite("市政府下放权力事项64项,市直部门委托执法权事项413项。")]
    assert ungrounded_numbers("共下放510项[1],其中64项[1]。", spans) == ["510"]


def test_markers_are_not_numbers() -> None:
    assert ungrounded_numbers("见资料[3]【2】[1,2]。", [_cite("无数字")]) == []


def test_thousands_separator_and_full_width_digits() -> None:
    assert ungrounded_numbers("投资1,024万元[1]", [_cite("投资1024万元分别在大李店建设小学")]) == []
    assert ungrounded_numbers("投资１０２４万元[1]", [_cite("投资1024万元")]) == []
    assert ungrounded_numbers("投资1024万元[1]", [_cite("投资1,024万元")]) == []
    assert ungrounded_numbers("投资1025万元[1]", [_cite("投资1,024万元")]) == ["1025"]


def test_decimals_and_percent() -> None:
    span = [_cite("城镇化率达到40%,总投资3.5亿元。")]
    assert ungrounded_numbers("40%和3.5亿元[1]", span) == []
    assert ungrounded_numbers("3.50亿元[1]", span) == []
    assert ungrounded_numbers("3.6亿元[1]", span) == ["3.6"]


def test_chinese_numerals_match_digits() -> None:
    assert ungrounded_numbers("出台了18条措施[1]", [_cite("出台了十八条措施")]) == []
    assert ungrounded_numbers("两千户[1]", [_cite("共2000户")]) == []
    assert ungrounded_numbers("三百户[1]", [_cite("共2000户")]) == ["三百"]


def test_common_words_with_numeral_characters_are_not_numbers() -> None:
    # 一是 / 五个方面 / 千万 are words, not quantities
    assert [v for _, v in number_values("一是统一思想,五个方面,千万不要")] == []


def test_chinese_list_comma_is_not_a_thousands_separator() -> None:
    assert ungrounded_numbers("10个[1]", [_cite("分别有10，200个")]) == []
    # an ASCII comma between digit groups is a thousands separator: no piece of 12,000 is grounded by it
    assert ungrounded_numbers("沙袋12条[1]", [_cite("共储备防汛沙袋12,000条")]) == ["12"]
    assert ungrounded_numbers("水田100亩[1]", [_cite("其中水田1,100亩")]) == ["100"]


def test_a_number_is_grounded_with_its_magnitude() -> None:
    cited = [_cite("戶籍人口3.4萬人，一般公共预算收入21.4亿元。")]
    assert ungrounded_numbers("户籍人口3.4万人[1]", cited) == []
    assert ungrounded_numbers("户籍人口34,000人，收入2.14 billion yuan[1]", cited) == []
    assert ungrounded_numbers("Port Alder had 3.4 million people [1]", cited) == ["3.4"]
    assert ungrounded_numbers("户籍人口3.4亿人[1]", cited) == ["3.4"]
    assert ungrounded_numbers("Revenue was 21.4 billion yuan [1]", cited) == ["21.4"]
    # number words in English are numbers too
    three = [_cite("The harbour has three container terminals and 2 piers.")]
    assert ungrounded_numbers("It has four container terminals [1]", three) == ["four"]
    assert ungrounded_numbers("It has 3 terminals and two piers, one of them new [1]", three) == []
    # a table that names its magnitude in the header
    assert ungrounded_numbers("常住人口18.9万人[1]", [_cite("海沧街道：常住人口（万人） 18.9")]) == []
