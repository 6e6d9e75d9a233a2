"""Scripts, language and segmentation: the shared definitions every stage uses."""

from __future__ import annotations

import pytest

import qa.text
from qa.ingest.formats.text import join_wrapped_line
from qa.segment import STOP_WORDS, index_terms, words
from qa.text import detect_lang, fold, is_cjk, is_wide


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("房寺镇下放了多少项权力?", "zh"),
        ("GDP增长了多少?", "zh"),
        ("How many powers were delegated to 房寺镇?", "en"),
        ("What is the population?", "en"),
        ("2023", "en"),
    ],
)
def test_detect_lang_counts_words_not_characters(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


def test_supplementary_plane_ideographs_are_chinese() -> None:
    # 𠮷 (U+20BB7, in the name 𠮷野家) lies outside the basic plane, like many characters of names and places
    assert is_cjk("𠮷") and is_wide("𠮷")
    assert detect_lang("𠮷野家的招牌菜是什么") == "zh"
    # a Chinese line wrapped next to such a character joins without a space, like any other Chinese line
    assert join_wrapped_line("这家店叫𠮷", "野家，开业于1899年。") == "这家店叫𠮷野家，开业于1899年。"


def test_latin_korean_and_curly_quotes_are_not_wide() -> None:
    # Korean puts spaces between words; English quotes must keep theirs
    assert not any(is_wide(ch) for ch in "a1.한“”")
    assert all(is_wide(ch) for ch in "中。「ア（")


def test_one_segmenter_for_question_words_and_index_terms() -> None:
    assert words("新建高标准农田3.5万亩") == ["新建", "高标准", "农田", "3.5", "万亩"]
    terms = index_terms("新建高标准农田3.5万亩。The Town's POWERS")
    # search mode adds the sub-words of a compound; stop words, punctuation and case go
    assert {"标准", "高标准", "农田", "town", "powers"} <= set(terms)
    assert not set(terms) & STOP_WORDS and "。" not in terms


def test_fold_keeps_folding_once_its_table_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    table = qa.text._fold_table()
    fold("ＡＢ")
    monkeypatch.setattr(qa.text, "_FOLD_TABLE_MAX", len(table))
    size = len(table)
    rare = "".join(chr(c) for c in range(0x1D400, 0x1D40A))  # mathematical bold letters, NFKC to A..J
    assert fold(rare + "ＡＢ臺") == "abcdefghijab台"
    assert len(table) == size
