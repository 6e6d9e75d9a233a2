"""The sentences an answer is made of: where each begins and ends in its passage."""

from __future__ import annotations

from qa.answer.evidence import candidate_sentences
from qa.types import Passage


def _passage(text: str) -> Passage:
    return Passage(
        chunk_id=1,
        doc_id="report",
        source="report.md",
        title="清河",
        text=text,
        start=40,
        end=40 + len(text),
        score=1.0,
    )


def test_a_list_items_bullet_is_no_part_of_its_sentence() -> None:
    # quoted with its bullet, an item read "18.6公里[1] — - 新建堤防…"
    p = _passage(
        "工程内容如下：\n- 新建堤防18.6公里，加固旧堤9.2公里；\n* 新建生态湿地3处。\n• 总投资2.37亿元。\n-5度以下停工。"
    )
    sentences = candidate_sentences([p])
    assert [s.text.split("，")[0] for s in sentences] == [
        "工程内容如下：",
        "新建堤防18.6公里",
        "新建生态湿地3处。",
        "总投资2.37亿元。",
        "-5度以下停工。",
    ]
    assert all(p.text[s.start : s.end] == s.text for s in sentences)
