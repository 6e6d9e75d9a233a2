"""Short-answer candidates: typed spans, clauses, and the gap the question's frame leaves open."""

from __future__ import annotations

import re

from qa.answer.spans import SPAN_FEATURES, _occurrences, frame_gap, span_candidates, span_features
from qa.query import analyze
from qa.text import fold


def test_the_frame_gap_is_what_the_question_asks_for() -> None:
    q = analyze("怡良最初在哪里任职？")
    s = fold("怡良最初在刑部任笔帖式，后升主事。")
    gap = frame_gap(q, s)
    assert gap is not None and s[gap.start : gap.end] == "刑部"
    assert gap.left == len("怡良最初在") and gap.right == 1


def test_a_frame_with_nothing_after_runs_to_the_end_of_its_clause() -> None:
    q = analyze("尤金袋鼠的体重大约是多少？")
    s = fold("尤金袋鼠的体重大约是8公斤，全长42公分。")
    gap = frame_gap(q, s)
    assert gap is not None and s[gap.start : gap.end] == "8公斤"


def test_no_frame_gap_when_the_question_is_not_restated() -> None:
    assert frame_gap(analyze("尤金袋鼠的体重大约是多少？"), fold("袋鼠岛上没有天敌。")) is None


def test_candidates_hold_typed_spans_clauses_and_the_sentence_without_duplicates() -> None:
    q = analyze("纽西兰鸡毛松有多高？")
    sentences = [fold("树高可达55米，树干直径达1米，有巨大树基支撑。")]
    cands = span_candidates(q, sentences)
    texts = {(sentences[0][c.start : c.end], c.origin) for c in cands}
    assert ("达55米", "typed") in texts
    assert ("树高可达55米", "clause") in texts
    assert ("树高可达55米,树干直径达1米,有巨大树基支撑", "sentence") in texts  # folded: full-width comma to ASCII
    spans = [(c.sentence, c.start, c.end) for c in cands]
    assert len(spans) == len(set(spans))
    # punctuation never opens or closes a candidate
    assert all(sentences[0][c.start] not in ",。" and sentences[0][c.end - 1] not in ",。" for c in cands)
    rows = span_features(q, sentences, cands, [1.0], {"number": {"number": 0.8, "none": 0.2}})
    assert len(rows) == len(cands) and all(len(r) == len(SPAN_FEATURES) for r in rows)
    prior = {(c.origin, c.type): r[SPAN_FEATURES.index("type_prior")] for c, r in zip(cands, rows, strict=True)}
    assert prior[("typed", "number")] == 0.8 and prior[("clause", "")] == 0.2


def test_the_words_after_a_question_term_are_candidates_where_the_frame_finds_no_gap() -> None:
    # the sentence drops the question's 产业, so the frame (…经济产业是[?]) matches nothing around the answer
    q = analyze("该县最主要的经济产业是什么？")
    s = fold("目前该县最主要的经济是茶叶种植，其次是旅游。")
    assert frame_gap(q, s) is None
    after = {s[c.start : c.end] for c in span_candidates(q, [s]) if c.origin == "after"}
    assert "茶叶种植" in after or "茶叶" in after, after
    # runs start right after a term, never inside one or before it
    assert not any(t.startswith(("该县", "目前")) for t in after), after


def test_brackets_that_close_inside_a_span_are_kept() -> None:
    q = analyze("阵内智则目前担任什么节目的主持人？")
    s = fold("阵内智则目前担任《Docking48》的主持人。")
    assert any(s[c.start : c.end] == "《docking48》" for c in span_candidates(q, [s]))


def test_term_occurrences_are_those_a_regex_of_the_escaped_term_finds() -> None:
    text = "aaaa 1.5亿元 (x) 1.5亿元 aa"
    for needle in ("aa", "a", "1.5亿", "(x)", "亿元", "zz"):
        assert list(_occurrences(needle, text)) == [m.start() for m in re.finditer(re.escape(needle), text)]
    assert list(_occurrences("", text)) == []


def test_no_candidate_cuts_a_latin_word() -> None:
    # the frame's "is the greenfield…" matched the "i" inside "Greenfield" by characters, and "Greenf" was offered
    def spaced(ch: str) -> bool:  # a letter or digit of a script that spaces its words
        return ch.isalnum() and not "\u2e80" <= ch <= "\u9fff"

    for question, sentences in (
        ("Where is the Greenfield Solar Farm?", ["Greenfield Solar Farm Begins Operation", "渠成毕业于MIT2010级。"]),
        # letters beyond ASCII are letters too: "Jürgen" was cut to "rgen" after the "ü"
        ("Who owns Café Müller?", ["The owner of Café Müller is Jürgen Weiß.", "Café Müller is in Zürich."]),
        # nor a number at its thousands separator or decimal point ("100 and 1,450" out of "1,100 and 1,450")
        ("What temperature does the furnace reach?", ["The furnace reaches between 1,100 and 1,450 degrees."]),
    ):
        q = analyze(question)
        folded = [fold(s) for s in sentences]
        for c in span_candidates(q, folded):
            text = folded[c.sentence]
            inside = [(text[i - 1], text[i]) for i in (c.start, c.end) if 0 < i < len(text)]
            assert not any(spaced(x) and spaced(y) for x, y in inside), text[c.start : c.end]
            around = text[max(c.start - 2, 0) : c.start] + "|" + text[c.end : c.end + 2]
            assert not re.search(r"\d[,.]\||\|[,.]\d", around), text[c.start : c.end]
    gap = frame_gap(analyze("Where is the Greenfield Solar Farm?"), fold("Greenfield Solar Farm Begins Operation"))
    assert gap is None or fold("Greenfield Solar Farm Begins Operation")[gap.start : gap.end] != "greenf"


def test_a_time_or_a_ratio_is_offered_whole_and_no_candidate_cuts_it() -> None:
    # a clock's or a ratio's colon is no clause mark: "会议于上午9：" and "30在镇政府召开" were two clauses
    q = analyze("会议几点开始？")
    s = fold("会议于上午9：30在镇政府召开，男女生比例约为1：7。")
    spans = {s[c.start : c.end] for c in span_candidates(q, [s])}
    assert fold("上午9：30") in spans and fold("1：7") in spans
    assert not any(re.search(r"^[:：]\d|\d[:：]$", span) for span in spans), spans
    # a Chinese comma or a label's colon between digits still parts clauses ("，" folds to ",")
    for text, first in (("2017年人口为12038，2018年为12510人", "2017年人口为12038"), ("附件1：2019年统计表", "附件1")):
        folded = fold(text)
        spans = {folded[c.start : c.end] for c in span_candidates(q, [folded])}
        assert fold(first) in spans, spans
