"""widen: retrieved chunks read with the sentences around them, still exact slices of the stored text."""

from __future__ import annotations

from qa.retrieve import widen
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
