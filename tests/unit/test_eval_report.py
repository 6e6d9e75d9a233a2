"""Scoring, summarizing and writing a report from a few synthetic results with hand-computed numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.conversation import Turn
from qa.errors import InvalidInput
from qa.eval.dataset import EvalItem
from qa.eval.report import (
    PLOT_FILES,
    SERVICE_VARIANT,
    QuestionResult,
    format_table,
    is_correct,
    score_result,
    summarize,
    write_report,
)
from qa.types import Answer, Citation, Passage, ShortAnswer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _passage(doc_id: str, source: str) -> Passage:
    return Passage(chunk_id=0, doc_id=doc_id, source=source, title="t", text="x", start=0, end=1, score=1.0)


def _citation(doc_id: str, source: str) -> Citation:
    return Citation(ref=1, doc_id=doc_id, source=source, title="t", text="x", start=0, end=1, score=1.0)


def _results() -> list[QuestionResult]:
    q1 = EvalItem(
        id="q1",
        question="房寺镇下放了多少项权力?",
        expect_all=("64",),
        answers=("64项",),
        docs=("000_a",),
        tags=("number",),
    )
    q2 = EvalItem(
        id="q2",
        question="规模以上企业有多少家?",
        expect_all=("59",),
        answers=("59家",),
        docs=("001_b",),
        tags=("number", "paraphrase"),
    )
    q3 = EvalItem(id="q3", question="2030年目标?", unanswerable=True, tags=("unanswerable",))
    q4 = EvalItem(id="q4", question="镇长是谁?", unanswerable=True, tags=("unanswerable",))
    a1 = Answer(
        answer="房寺镇下放了64项权力[1]",
        found=True,
        citations=[_citation("d1", "/data/seeds/000_a.txt")],
        short_answer=ShortAnswer("64项权力", 1, 6, 11),
        timings_ms={"retrieve": 10.0, "answer": 30.0},
    )
    a2 = Answer(answer="资料中没有找到答案。", found=False, citations=[], timings_ms={"retrieve": 20.0})
    a3 = Answer(answer="资料中没有找到答案。", found=False, citations=[], timings_ms={"retrieve": 30.0})
    a4 = Answer(
        answer="镇长是张三,任期5年[1]",
        found=True,
        citations=[_citation("d3", "other.txt")],
        ungrounded_numbers=["5"],
        timings_ms={"retrieve": 40.0, "answer": 50.0},
    )
    return [
        score_result(
            q1,
            a1,
            {
                "hybrid": [_passage("d9", "x.txt"), _passage("d9", "x.txt"), _passage("d1", "s/000_a.txt")],
                "bm25": [_passage("d1", "s/000_a.txt")],
            },
        ),
        score_result(
            q2,
            a2,
            {"hybrid": [_passage("d3", "other.txt")], "bm25": [_passage("d2", "001_b.md")]},
        ),
        score_result(q3, a3, {"hybrid": [_passage("d3", "other.txt")]}),
        score_result(q4, a4, {"hybrid": [_passage("d3", "other.txt")]}),
    ]


def test_score_result_per_question_fields() -> None:
    r1, r2, r3, r4 = _results()
    assert r1.expect_all_pass is True
    assert r1.em == 0.0
    # "房寺镇下放了64项权力" (11 chars) vs "64项" (3): P=3/11, R=1 → F1 = 6/14
    assert r1.f1 == pytest.approx(6 / 14)
    assert r1.contains_gold == 1.0
    assert r1.citation_accuracy == 1.0
    assert r2.expect_all_pass is False
    assert r2.f1 == 0.0
    assert r2.citation_accuracy is None
    assert r3.expect_all_pass is None and r3.f1 is None and r3.citation_accuracy is None
    assert r4.ungrounded_numbers == 1
    assert r1.ungrounded_numbers == 0


def test_score_result_for_a_failed_run() -> None:
    item = EvalItem(id="e", question="?", expect_all=("1",), answers=("1",), docs=("d",))
    r = score_result(item, None, error="timeout after 30 s")
    assert r.found is False
    assert r.expect_all_pass is False
    assert r.f1 == 0.0
    assert r.error == "timeout after 30 s"
    assert summarize([r]).failures == ["e"]


def test_summarize_hand_computed() -> None:
    s = summarize(_results())
    assert (s.n_questions, s.n_answerable, s.n_unanswerable, s.n_errors) == (4, 2, 2, 0)
    hybrid = s.retrieval["hybrid"]
    # only answerable items with docs count: q1 finds 000_a second (after dedupe), q2 misses
    assert hybrid.n == 2
    assert hybrid.hit_at[1] == 0.0
    assert hybrid.hit_at[2] == 0.5
    assert hybrid.hit_at[10] == 0.5
    assert hybrid.mrr_at_10 == pytest.approx(0.25)
    assert hybrid.ndcg_at_10 == pytest.approx((1 / math.log2(3)) / 2)
    bm25 = s.retrieval["bm25"]
    assert bm25.hit_at[1] == 1.0 and bm25.mrr_at_10 == 1.0 and bm25.ndcg_at_10 == 1.0
    assert s.expect_all_pass_rate == 0.5
    assert s.em == 0.0
    assert s.f1 == pytest.approx(3 / 14)
    assert s.contains_gold_rate == 0.5
    # q1's short answer "64项权力" against "64项": P=3/5, R=1; q2 was refused (0)
    assert s.short_f1 == pytest.approx((2 * 0.6 / 1.6) / 2)
    assert s.short_em == 0.0
    # q1 cites its document (by file stem); q2 was refused
    assert s.cites_gold_rate == 0.5 and s.n_gold_docs == 2
    assert s.citation_accuracy == 1.0
    assert s.answered_rate == 0.5
    # refused q2 and q3; unanswerable q3 and q4 → TP=1 → P=1/2, R=1/2
    assert s.refusal_precision == 0.5
    assert s.refusal_recall == 0.5
    # answered q1 and q4, q4 carries an ungrounded number
    assert s.ungrounded_share == 0.5
    assert s.failures == ["q2", "q4"]
    assert s.latency["retrieve"].n == 4
    assert s.latency["retrieve"].p50 == pytest.approx(25.0)
    assert s.latency["retrieve"].p95 == pytest.approx(38.5)
    assert s.latency["answer"].max == 50.0
    assert s.per_tag["unanswerable"].correct_found_rate == 0.5
    assert s.per_tag["number"].n == 2


def test_each_tag_reports_the_services_own_retrieval() -> None:
    """Per tag, hit@k of the variant the service answers from, over the tag's answerable items with gold docs."""
    q1, q2, q3 = (
        EvalItem(id="e1", question="How many?", docs=("000_a",), tags=("en", "number")),
        EvalItem(id="e2", question="How much?", docs=("001_b",), tags=("en",)),
        EvalItem(id="z1", question="多少?", docs=("001_b",), tags=("number",)),
    )
    found = Answer(answer="x", found=True, citations=[])
    results = [
        score_result(q1, found, {SERVICE_VARIANT: [_passage("d1", "000_a.txt")], "bm25": [_passage("d9", "x.txt")]}),
        score_result(
            q2,
            found,
            {SERVICE_VARIANT: [_passage(f"o{i}", f"o{i}.txt") for i in range(5)] + [_passage("d2", "001_b.txt")]},
        ),
        score_result(q3, found, {SERVICE_VARIANT: [_passage("d9", "x.txt"), _passage("d2", "001_b.txt")]}),
    ]
    tags = summarize(results).per_tag
    assert (tags["en"].hit_at_1, tags["en"].hit_at_5) == (0.5, 0.5)  # e2's document is the sixth distinct one
    assert (tags["number"].hit_at_1, tags["number"].hit_at_5) == (0.5, 1.0)
    untagged = summarize([score_result(q1, found, {"bm25": [_passage("d1", "000_a.txt")]})]).per_tag["en"]
    assert math.isnan(untagged.hit_at_1)  # no retrieval of the service's own variant to count


def test_summarize_rejects_empty() -> None:
    with pytest.raises(InvalidInput):
        summarize([])


def test_format_table_is_compact_text() -> None:
    table = format_table(summarize(_results()))
    assert "hybrid" in table and "bm25" in table
    assert "0.214" in table  # char F1
    assert "failed (2): q2, q4" in table
    assert "\x1b[" not in table


def test_write_report_files(tmp_path: Path) -> None:
    results = _results()
    summary = summarize(results)
    out = tmp_path / "run"
    write_report(summary, results, out)

    for name in PLOT_FILES:
        data = (out / name).read_bytes()
        assert len(data) > 1000
        assert data.startswith(PNG_MAGIC)

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| variant | n | hit@1 |" in report
    assert "| hybrid | 2 | 0.000 | 0.500 | 0.500 | 0.250 |" in report
    assert "![hit_at_k.png](hit_at_k.png)" in report
    assert "镇长是谁?" in report  # failed question listed
    # what a failed item asked for, whichever field gave it
    assert "| q2 | 规模以上企业有多少家? | 59 |" in report
    only_answers = score_result(EvalItem(id="a", question="几家?", answers=("59家", "五十九家")), None, error="x")
    write_report(summarize([only_answers]), [only_answers], tmp_path / "answers-only")
    assert "one of: 59家 \\| 五十九家" in (tmp_path / "answers-only" / "report.md").read_text(encoding="utf-8")

    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    back = [QuestionResult.from_dict(json.loads(line)) for line in lines]
    assert back == results

    summary_json = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary_json["refusal_precision"] == 0.5
    assert summary_json["retrieval"]["bm25"]["hit_at"]["1"] == 1.0


def test_write_report_with_no_timings_or_retrieval(tmp_path: Path) -> None:
    item = EvalItem(id="u", question="?", unanswerable=True)
    r = score_result(item, Answer(answer="没有答案", found=False, citations=[]))
    s = summarize([r])
    assert math.isnan(s.refusal_precision) is False and s.refusal_recall == 1.0
    write_report(s, [r], tmp_path)
    assert all((tmp_path / n).read_bytes().startswith(PNG_MAGIC) for n in PLOT_FILES)
    assert json.loads((tmp_path / "summary.json").read_text())["f1"] is None
    assert "n/a" in format_table(s)


def _found(text: str, question: str = "") -> Answer:
    return Answer(answer=text, found=True, citations=[_citation("d1", "000_a.txt")], question=question)


def test_conversations_set_follow_ups_beside_their_standalone_form_and_check_switches() -> None:
    history = (Turn("user", "房寺镇下放了多少项权力?"), Turn("assistant", "64项。"))
    first = EvalItem(id="c-1", question="房寺镇下放了多少项权力?", expect_all=("64",))
    follow_up = EvalItem(
        id="c-2",
        question="那执法权限呢?",
        expect_all=("413",),
        history=history,
        standalone="房寺镇下放了多少项执法权限?",
    )
    missed = EvalItem(
        id="d-2", question="它有多少人?", expect_all=("7万",), history=history, standalone="房寺镇有多少人?"
    )
    switch = EvalItem(id="e-2", question="温州有多少个乡镇?", expect_all=("185",), history=history)
    dragged = EvalItem(id="f-2", question="谭坊镇有几个村?", expect_all=("10",), history=history)
    results = [
        score_result(first, _found("64项[1]", first.question)),
        score_result(follow_up, _found("413项[1]", "房寺镇那执法权限呢?"), standalone_answer=_found("413项[1]")),
        score_result(missed, _found("不知道[1]", missed.question), standalone_answer=_found("约7万人[1]")),
        score_result(switch, _found("185个[1]", switch.question)),
        score_result(dragged, _found("10个[1]", "房寺镇谭坊镇有几个村?")),
    ]
    assert [r.correct for r in results] == [True, True, False, True, True]
    assert results[1].used_question == "房寺镇那执法权限呢?" and results[1].history_turns == 2
    assert results[2].standalone_correct is True and results[0].standalone_correct is None
    c = summarize(results).conversation
    assert c is not None
    assert (c.n_single, c.single_accuracy) == (1, 1.0)
    assert (c.n_followup, c.followup_accuracy, c.standalone_accuracy, c.ratio) == (2, 0.5, 1.0, 0.5)
    # a question standing alone must be searched for as asked: the second one was not
    assert (c.n_standing, c.standing_accuracy, c.standing_untouched) == (2, 1.0, 0.5)
    table = format_table(summarize(results))
    assert "follow-ups, with their history" in table and "searched as asked" in table
    assert summarize(results[:1]).conversation is None  # no history anywhere: no section


def test_is_correct_follows_the_strongest_gold_the_item_gives() -> None:
    refused = Answer(answer="资料中没有找到答案。", found=False, citations=[])
    assert is_correct(EvalItem(id="u", question="?", unanswerable=True), refused) is True
    assert is_correct(EvalItem(id="u", question="?", unanswerable=True), _found("5[1]")) is False
    assert is_correct(EvalItem(id="s", question="?", answers=("64项",)), _found("共64项[1]")) is True
    assert is_correct(EvalItem(id="d", question="?", docs=("000_a",)), _found("x[1]")) is True
    assert is_correct(EvalItem(id="d", question="?", docs=("001_b",)), _found("x[1]")) is False
    assert is_correct(EvalItem(id="e", question="?", expect_all=("64",)), refused) is False
    assert is_correct(EvalItem(id="e", question="?", expect_all=("64",)), None) is False
