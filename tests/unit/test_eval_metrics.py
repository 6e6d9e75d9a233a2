"""Hand-computed cases for the evaluation metrics and dataset validation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.errors import InvalidInput
from qa.eval.dataset import load_dataset
from qa.eval.metrics import (
    char_f1,
    contains_gold,
    doc_matches,
    exact_match,
    expect_all_pass,
    hit_at_k,
    max_f1,
    mrr_at_k,
    ndcg_at_k,
    normalize_zh,
    percentile,
    refusal_precision_recall,
    source_stem,
    strip_citation_markers,
)


def test_normalize_strips_cjk_and_ascii_punctuation_and_space() -> None:
    assert normalize_zh("房寺镇,下放了 64 项!") == "房寺镇下放了64项"
    assert normalize_zh("“六办两中心”。《规划》—— (试点)") == "六办两中心规划试点"
    assert normalize_zh("Hello, World!") == "helloworld"


def test_normalize_folds_full_width_forms() -> None:
    assert normalize_zh("ＡＢｃ，“６４”") == "abc64"


def test_answers_are_compared_across_chinese_scripts() -> None:
    answer = "房寺鎮下放了64項行政權力事項[1]。"
    assert normalize_zh("行政權力") == normalize_zh("行政权力") == "行政权力"
    assert contains_gold(answer, ["64项行政权力"]) == 1.0
    assert char_f1("64項", "64项") == 1.0 and exact_match("64項", ["64项"]) == 1.0
    assert expect_all_pass(answer, ["64项", "房寺镇"]) and not expect_all_pass(answer, ["413项"])


def test_char_f1_chinese_prediction_longer_than_gold() -> None:
    # pred 6,4,项,行,政,权,力 (7 chars); gold 6,4,项 (3); overlap 3 → P=3/7, R=1, F1=2·(3/7)/(10/7)=0.6
    assert char_f1("64项行政权力", "64项") == pytest.approx(0.6)


def test_char_f1_partial_overlap_both_ways() -> None:
    # pred 下放了64项 (6), gold 64项权力 (5), overlap 3 → P=1/2, R=3/5, F1=6/11
    assert char_f1("下放了64项", "64项权力") == pytest.approx(6 / 11)


def test_char_f1_counts_characters_as_multiset() -> None:
    # 哈 appears three times in the prediction but once in gold: overlap 1 → P=1/3, R=1, F1=0.5
    assert char_f1("哈哈哈", "哈") == pytest.approx(0.5)
    assert char_f1("aab", "ab") == pytest.approx(0.8)


def test_char_f1_ignores_punctuation_and_edge_cases() -> None:
    assert char_f1("“64项”。", "64项") == 1.0
    assert char_f1("", "") == 1.0
    assert char_f1("", "64") == 0.0
    assert char_f1("abc", "xyz") == 0.0


def test_max_f1_and_exact_match() -> None:
    assert max_f1("64项", ["413项", "64项"]) == 1.0
    assert max_f1("64项", []) == 0.0
    assert exact_match("“64项”。", ["64项"]) == 1.0
    assert exact_match("下放了64项", ["64项"]) == 0.0
    assert exact_match("64项", []) == 0.0


def test_contains_gold_is_separate_from_em() -> None:
    assert contains_gold("房寺镇下放了64项权力", ["64项"]) == 1.0
    assert contains_gold("房寺镇下放了64项权力", ["413项"]) == 0.0
    # an empty gold span (after normalization) must not count as contained everywhere
    assert contains_gold("任何回答", ["。"]) == 0.0


def test_strip_citation_markers() -> None:
    assert strip_citation_markers("下放了64项[1],执法权限413项[2]。") == "下放了64项,执法权限413项。"


def test_hit_and_mrr_dedupe_documents() -> None:
    ranked = ["a", "a", "b"]
    assert hit_at_k(ranked, {"b"}, 1) == 0.0
    # after dedupe b is the second distinct document
    assert hit_at_k(ranked, {"b"}, 2) == 1.0
    assert mrr_at_k(["x", "y", "b"], {"b"}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "b"], {"b"}, 2) == 0.0
    assert mrr_at_k(["x", "x", "b"], {"b"}, 10) == pytest.approx(1 / 2)


def test_ndcg_known_values() -> None:
    # DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a", "b"], {"a", "b"}, 3) == pytest.approx(expected)
    assert expected == pytest.approx(0.693426, abs=1e-6)
    # a duplicated relevant document is counted once, so a perfect ranking stays at 1.0
    assert ndcg_at_k(["a", "a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    # with k below the number of relevant documents the ideal is cut at k
    assert ndcg_at_k(["a"], {"a", "b", "c"}, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"a"}, 10) == 0.0


def test_retrieval_metrics_reject_bad_arguments() -> None:
    with pytest.raises(InvalidInput, match="k must be"):
        hit_at_k(["a"], {"a"}, 0)
    with pytest.raises(InvalidInput, match="relevant"):
        ndcg_at_k(["a"], set(), 5)


def test_expect_all_pass() -> None:
    assert expect_all_pass("下放了64项和413项[1]", ["64", "413"])
    assert not expect_all_pass("下放了64项", ["64", "413"])
    assert expect_all_pass("下放了６４项", ["64"])
    assert expect_all_pass("anything", [])
    # punctuation is kept: a different figure must not pass
    assert not expect_all_pass("财政总收入619亿元", ["6.19亿"])
    assert not expect_all_pass("1400年", ["40%"])


def test_refusal_precision_recall() -> None:
    # TP at 0 and 4; 3 refusals predicted; 3 unanswerable → P = R = 2/3
    p, r = refusal_precision_recall([True, True, False, False, True], [True, False, True, False, True])
    assert p == pytest.approx(2 / 3)
    assert r == pytest.approx(2 / 3)
    p, r = refusal_precision_recall([False, False], [True, False])
    assert math.isnan(p)
    assert r == 0.0
    p, r = refusal_precision_recall([True, False], [False, False])
    assert p == 0.0
    assert math.isnan(r)
    with pytest.raises(InvalidInput):
        refusal_precision_recall([True], [True, False])


def test_percentile_linear_interpolation() -> None:
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    # position 0.95·4 = 3.8 → 40 + 0.8·10
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert math.isnan(percentile([], 50))
    with pytest.raises(InvalidInput):
        percentile([1.0], 101)


def test_doc_matches_by_id_or_file_stem() -> None:
    wanted = {"000_a"}
    assert doc_matches("000_a", "", wanted)
    assert doc_matches("d41d8", "/srv/data/seeds/000_a.txt", wanted)
    assert doc_matches("d41d8", "https://example.org/news/000_a.html?page=2#top", wanted)
    assert doc_matches("d41d8", "C:\\docs\\000_a.docx", wanted)
    assert not doc_matches("d41d8", "/srv/data/seeds/001_b.txt", wanted)
    assert not doc_matches("d41d8", "", wanted)
    # a file name written with its suffix, or the source exactly as cited, names that file too
    assert doc_matches("report", "north/report.txt", {"report.txt"}) and doc_matches(
        "x", "north/report.txt", {"north/report.txt"}
    )
    assert not doc_matches("report", "north/report.txt", {"report.md"})
    assert source_stem("https://example.org/") == "example"
    # a file's name may hold what a URL would not
    assert doc_matches("x", "百科/鹭岛大桥 #1.md", {"鹭岛大桥 #1"}) and doc_matches("x", "faq?.txt", {"faq?"})


# ---------------------------------------------------------------- dataset validation


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_dataset_reads_valid_items_and_keeps_extra_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            '{"id": "q1", "question": "下放了多少项?", "expect_all": ["64"], "docs": ["000_a"], '
            '"tags": ["number"], "note": "x"}',
            "",
            '{"id": "q2", "question": "2030年目标?", "unanswerable": true}',
        ],
    )
    items = load_dataset(path)
    assert [i.id for i in items] == ["q1", "q2"]
    assert items[0].expect_all == ("64",)
    assert items[0].tags == ("number",)
    assert items[0].extra == {"note": "x"}
    assert items[0].line == 1
    assert items[1].unanswerable
    assert items[1].line == 3


def test_load_dataset_reports_every_bad_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            '{"id": "q1", "question": "ok?", "expect_all": ["1"]}',
            '{"id": "q2", "question": "broken"',
            '["not", "an", "object"]',
            '{"id": "q4", "expect_all": ["1"]}',
            '{"id": "q5", "question": "x?", "expect_all": "64"}',
            '{"id": "q1", "question": "again?", "expect_all": ["1"]}',
            '{"id": "q7", "question": "x?", "unanswerable": true, "answers": ["a"]}',
            '{"id": "q8", "question": "x?"}',
            '{"id": 9, "question": "x?", "docs": ["d"]}',
            '{"id": "q10", "question": "x?", "expect_all": [""]}',
        ],
    )
    with pytest.raises(InvalidInput) as exc:
        load_dataset(path)
    msg = exc.value.message
    assert "9 invalid line(s)" in msg
    assert "line 2: not valid JSON" in msg
    assert "line 3: expected a JSON object, got list" in msg
    assert "line 4: question" in msg
    assert "line 5: expect_all" in msg
    assert "line 6: duplicate id 'q1' (first used on line 1)" in msg
    assert "line 7: an unanswerable item cannot have expect_all or answers" in msg
    assert "line 8: nothing to score" in msg
    assert "line 9: id" in msg
    assert "line 10: expect_all holds an empty string" in msg
    assert "line 1:" not in msg


def test_load_dataset_reads_multi_turn_items_and_reports_bad_history(tmp_path: Path) -> None:
    history = '[{"role": "user", "content": "房寺镇下放了多少项权力?"}, {"role": "assistant", "content": "64项。"}]'
    path = _write(
        tmp_path,
        [
            f'{{"id": "q1", "question": "那执法权限呢?", "history": {history}, "standalone": "房寺镇下放了多少项'
            f'执法权限?", "expect_all": ["413"]}}',
        ],
    )
    (item,) = load_dataset(path)
    assert [t.role for t in item.history] == ["user", "assistant"] and item.standalone.endswith("执法权限?")
    bad = _write(
        tmp_path,
        [
            '{"id": "q1", "question": "x?", "expect_all": ["1"], "history": [{"role": "system", "content": "x"}]}',
            '{"id": "q2", "question": "x?", "expect_all": ["1"], "history": "房寺镇"}',
            '{"id": "q3", "question": "x?", "expect_all": ["1"], "standalone": "房寺镇x?"}',
            '{"id": "q4", "question": "x?", "expect_all": ["1"], "history": [{"role": "user", "content": " "}]}',
        ],
    )
    with pytest.raises(InvalidInput) as exc:
        load_dataset(bad)
    msg = exc.value.message
    assert "line 1: history.0.role" in msg and "line 2: history" in msg
    assert "line 3: standalone is only meaningful with a history" in msg
    assert "line 4: history holds an empty message" in msg


def test_load_dataset_missing_empty_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no questions"):
        load_dataset(empty)
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes('{"id": "q", "question": "房寺镇?", "docs": ["d"]}'.encode("gbk"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_dataset(gbk)
