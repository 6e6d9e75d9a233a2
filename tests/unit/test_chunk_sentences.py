"""Sentence spans: exact offsets, Chinese and English terminators, and numbers never split."""

from __future__ import annotations

import re

import pytest

from qa.chunk.sentences import split_sentences
from tests.support import SEEDS


def sents(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def assert_well_formed(text: str) -> None:
    spans = split_sentences(text)
    prev_end = 0
    for start, end in spans:
        assert prev_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        # nothing but whitespace is left out between sentences
        assert text[prev_end:start].strip() == ""
        prev_end = end
    assert text[prev_end:].strip() == ""


def test_chinese_terminators_and_closing_quotes() -> None:
    text = "他说：“今天开会。”大家都同意！真的吗？是的；散会……然后（休息。）结束"
    assert sents(text) == [
        "他说：“今天开会。”",
        "大家都同意！",
        "真的吗？",
        "是的；",
        "散会……",
        "然后（休息。）",
        "结束",
    ]


def test_runs_of_terminators_stay_together() -> None:
    assert sents("太好了！！！真的？！好……。下一句") == ["太好了！！！", "真的？！", "好……。", "下一句"]


@pytest.mark.parametrize(
    "number",
    ["6.19亿元", "3.5%", "1,024万元", "v2.0", "2019.04.25", "1．5倍", "10:30", "0.5"],
)
def test_numbers_are_never_split(number: str) -> None:
    text = f"收入为{number}。今年增长了。Revenue was {number} last year. It grew."
    out = sents(text)
    assert any(number in s for s in out[:1]), out
    assert all(s.strip() for s in out)
    assert len(out) == 4, out


def test_english_sentences_and_abbreviations() -> None:
    text = "See e.g. the report by Dr. Smith, No. 5 in the list. It ships v2.0 now! Really? Yes; it does."
    assert sents(text) == [
        "See e.g. the report by Dr. Smith, No. 5 in the list.",
        "It ships v2.0 now!",
        "Really?",
        "Yes;",
        "it does.",
    ]


def test_period_without_following_space_is_not_a_boundary() -> None:
    assert sents("Visit example.com today. Then stop.") == ["Visit example.com today.", "Then stop."]


def test_list_markers_and_initials() -> None:
    assert sents("1. Install it\n2. Run it") == ["1. Install it", "2. Run it"]
    assert sents("Written by J. Smith in 2020. Done.") == ["Written by J. Smith in 2020.", "Done."]


def test_ascii_punctuation_in_chinese_text() -> None:
    # Chinese web text often uses ASCII ; ! ? . right before the next CJK character
    text = "总体定位;“高点定位”是思路!会议结束了.大家回家"
    assert sents(text) == ["总体定位;", "“高点定位”是思路!", "会议结束了.", "大家回家"]


def test_line_breaks_end_sentences_and_whitespace_is_stripped() -> None:
    text = "  标题行\n\n\u3000\u3000第一段没有句号\r\n  第二段。 \n"
    out = split_sentences(text)
    assert [text[s:e] for s, e in out] == ["标题行", "第一段没有句号", "第二段。"]
    assert_well_formed(text)


def test_empty_and_whitespace_only() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\u3000 ") == []


def test_terminators_inside_titles_brackets_and_quotations() -> None:
    # a title, an English name and a gloss in brackets hold marks that end no sentence
    assert sents("《卡拉OK.LIVE！‧台北‧我》是第六张专辑。之后发行了新专辑。") == [
        "《卡拉OK.LIVE！‧台北‧我》是第六张专辑。",
        "之后发行了新专辑。",
    ]
    assert sents("旗下组合（包括岚及Hey! Say! JUMP）出版影音产品。另一品牌成立。") == [
        "旗下组合（包括岚及Hey! Say! JUMP）出版影音产品。",
        "另一品牌成立。",
    ]
    assert sents("牛车水（；）是新加坡的唐人街。它很有名。") == ["牛车水（；）是新加坡的唐人街。", "它很有名。"]
    # a quotation runs on to its closing mark; a full stop right before the closer ends the sentence
    assert sents("无上我：“唵！自在居住在一切中。”后来如何。") == ["无上我：“唵！自在居住在一切中。”", "后来如何。"]
    assert sents("他说：「好。」然后走了。") == ["他说：「好。」", "然后走了。"]
    # a pair left open on its line, or closed only far away, changes nothing
    assert sents("他说（没有闭合。下一句。\n另一行）。") == ["他说（没有闭合。", "下一句。", "另一行）。"]
    assert sents("甲（乙；丙；丁。") == ["甲（乙；", "丙；", "丁。"]
    far = "（引文开始。" + "很长的一句话。" * 100 + "）"
    assert len(sents(far)) == 101


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem)
def test_seed_spans_are_exact_and_cover_the_text(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8")
    assert_well_formed(text)
    spans = split_sentences(text)
    assert len(spans) > 10
    # no span boundary falls inside a number such as 6.19 or 1,024
    for m in re.finditer(r"\d+(?:[.,:．]\d+)+", text):
        for s, e in spans:
            assert not (m.start() < s < m.end()) and not (m.start() < e < m.end()), (m.group(), text[s:e])


def test_abbreviation_closing_a_sentence_before_a_capital() -> None:
    text = "The ribbon-cutting is at 10 a.m. The branch opens after it. Open 9 a.m. to 8 p.m. daily."
    assert sents(text) == [
        "The ribbon-cutting is at 10 a.m.",
        "The branch opens after it.",
        "Open 9 a.m. to 8 p.m. daily.",
    ]
    assert sents("It was built in the U.S. Exports followed. Tools, pens, etc. are sold.") == [
        "It was built in the U.S.",
        "Exports followed.",
        "Tools, pens, etc. are sold.",
    ]
    # prefixes never end a sentence, whatever follows
    assert sents("Ask Dr. Smith or see e.g. The Times today.") == ["Ask Dr. Smith or see e.g. The Times today."]
