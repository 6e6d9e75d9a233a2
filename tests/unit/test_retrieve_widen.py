"""widen: retrieved chunks read with the sentences around them, still exact slices of the stored text."""

from __future__ import annotations

from qa.retrieve import stating_years, widen
from qa.types import Document, Passage

TEXT = "第一句在这里。第二句说尤金袋鼠。第三句给出体重约8公斤。第四句讲分布。第五句讲繁殖。第六句收尾。"


class _Store:
    def __init__(self, docs: dict[str, str]) -> None:
        self.docs = docs

    def document(self, doc_id: str) -> Document | None:
        text = self.docs.get(doc_id)
        return Document(doc_id, f"{doc_id}.txt", doc_id, text, "h") if text is not None else None


def _chunk(doc: str, text: str, anchor: str, length: int, rank: int) -> Passage:
    start = text.index(anchor)
    return Passage(rank, doc, f"{doc}.txt", doc, text[start : start + length], start, start + length, 1.0 / (rank + 1))


def test_a_window_is_whole_sentences_around_the_chunk() -> None:
    p = _chunk("d", TEXT, "第三句", 14, 0)
    (w,) = widen(_Store({"d": TEXT}), [p], reach=1.0)
    assert TEXT[w.start : w.end] == w.text
    assert w.start <= p.start and w.end >= p.end
    assert w.text.startswith("第二句") and w.text.endswith("。")  # cut at sentence ends, never mid-sentence
    assert [(h.start, h.end, h.rank) for h in w.hits] == [(p.start, p.end, 0)]


def test_windows_of_one_document_merge_and_keep_the_best_rank() -> None:
    a = _chunk("d", TEXT, "第四句", 7, 0)
    b = _chunk("d", TEXT, "第三句", 7, 1)
    other = _chunk("e", "另一篇文章。只有两句。", "只有", 5, 2)
    windows = widen(_Store({"d": TEXT, "e": "另一篇文章。只有两句。"}), [a, b, other], reach=1.0)
    assert [w.doc_id for w in windows] == ["d", "e"]
    merged = windows[0]
    assert merged.chunk_id == a.chunk_id and merged.score == a.score
    assert {h.rank for h in merged.hits} == {0, 1}
    assert TEXT[merged.start : merged.end] == merged.text


def test_a_deleted_document_is_left_out() -> None:
    assert widen(_Store({}), [_chunk("d", TEXT, "第三句", 7, 0)]) == []


def test_reach_zero_keeps_the_chunk() -> None:
    p = _chunk("d", TEXT, "第三句", 14, 0)
    (w,) = widen(_Store({"d": TEXT}), [p], reach=0.0)
    assert (w.start, w.end) == (p.start, p.end)


def test_a_question_about_a_year_reads_only_documents_that_state_it() -> None:
    store = _Store(
        {
            "y23": "2023年，全市实现地区生产总值1825.6亿元。",
            "y24": "2024年，全市实现地区生产总值1932.8亿元，比2023年增长5.4%。",
            "tw": "中華民國112年，全市生產總值1825.6億元。",
            "zh": "二〇二三年工作回顾。全年生产总值稳步增长。",
            "none": "全市实现地区生产总值稳步增长。",
        }
    )
    passages = [_chunk(d, store.docs[d], store.docs[d][:4], 4, rank) for rank, d in enumerate(store.docs)]
    # the 2024 bulletin compares with 2023, so it speaks of 2023 too; the undated text does not
    assert [p.doc_id for p in stating_years(store, passages, (2023,))] == ["y23", "y24", "tw", "zh"]
    assert [p.doc_id for p in stating_years(store, passages, (2024,))] == ["y24"]
    assert stating_years(store, passages, (2022,)) == []
    assert stating_years(store, passages, ()) == passages


def test_a_year_is_not_read_inside_a_longer_number() -> None:
    store = _Store({"d": "共有12023人，编号20231。"})
    (p,) = [_chunk("d", store.docs["d"], "共有", 4, 0)]
    assert stating_years(store, [p], (2023,)) == []
