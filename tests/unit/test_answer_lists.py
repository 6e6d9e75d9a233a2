"""A sentence that announces a list ("原料包括：" and then one item a line) is quoted with its list, and a short
answer that runs up to the announcing colon is the list (real embedder, FAISS and the packaged answer model,
through the service path)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from qa.config import Settings
from qa.service import QAService
from qa.types import Answer
from qa.worker import Source

DOCS = {
    # as the HTML loader writes <li> items, and as Markdown and plain text number them
    "paper.html": "造纸术\n东汉时，宦官蔡伦改进了造纸工艺。\n蔡伦使用的原料包括：\n- 树皮\n- 麻头\n- 破布\n- 旧渔网\n"
    "人们把这种纸称作“蔡侯纸”。",
    "tasks.txt": "2024年政府工作报告\n今年将继续办好十件民生实事，主要包括：新建改扩建中小学23所；新增养老床位3000张；"
    "改造老旧小区156个；新建城市公园12个。同时加快推进城市更新。",
    "town.md": "青石乡\n\n青石乡是云溪县下辖的一个乡。\n\n"
    "青石乡下辖3个行政村，分别是：\n\n1. 石门村\n2. 竹溪村\n3. 下湾村",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QAService]:
    service = QAService(Settings(index_dir=tmp_path_factory.mktemp("lists")))
    service.ingest_sources([Source(name=n, source=n, text=t) for n, t in DOCS.items()], "default")
    yield service
    service.close()


def _ask(service: QAService, question: str) -> Answer:
    answer = asyncio.run(service.ask(question, "default"))
    for c in answer.citations:
        assert service.get_document("default", c.doc_id).text[c.start : c.end] == c.text
    assert answer.short_answer is not None
    cited = answer.citations[answer.short_answer.ref - 1]
    assert cited.start <= answer.short_answer.start and answer.short_answer.end <= cited.end
    return answer


@pytest.mark.parametrize(
    ("question", "items"),
    [
        ("蔡伦造纸用了哪些原料？", ["树皮", "麻头", "破布", "旧渔网"]),
        ("青石乡下辖哪些行政村？", ["石门村", "竹溪村", "下湾村"]),
    ],
)
def test_a_list_question_is_answered_with_the_whole_list(service: QAService, question: str, items: list[str]) -> None:
    answer = _ask(service, question)
    assert answer.found
    assert answer.short_answer is not None and all(item in answer.short_answer.text for item in items)
    # one citation holds the announcing sentence and its items, quoted on one line
    (listing,) = [c for c in answer.citations if items[0] in c.text]
    assert all(item in listing.text for item in items) and listing.text.rstrip().endswith(items[-1])
    assert all(item in answer.answer for item in items) and "\n" not in answer.answer


def test_a_list_of_clauses_parted_by_semicolons_is_quoted_to_its_full_stop(service: QAService) -> None:
    answer = _ask(service, "十件民生实事主要包括哪些？")
    assert answer.found
    (listing,) = [c for c in answer.citations if "中小学" in c.text]
    assert listing.text.endswith("新建城市公园12个。")
    assert sum("养老床位" in c.text for c in answer.citations) == 1  # its clauses are not quoted apart


def test_a_figure_in_the_announcing_sentence_stays_the_short_answer(service: QAService) -> None:
    answer = _ask(service, "青石乡下辖几个行政村？")
    assert answer.short_answer is not None and answer.short_answer.text == "3个"
