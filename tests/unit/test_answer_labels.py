"""A short answer never carries the label of a key：value line ("设计者：李春" answers with 李春), as an infobox, a
flattened table row or a DOCX field writes facts (real embedder, FAISS and the packaged answer model, through the
service path)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from qa.config import Settings
from qa.service import QAService
from qa.worker import Source

DOCS = {
    "bridge.txt": "赵州桥\n\n赵州桥又名安济桥，坐落在河北省赵县城南的洨河之上。\n\n建造年代：隋朝（约595年至605年）\n"
    "设计者：李春\n全长：50.82米\n\n1961年，它被国务院公布为第一批全国重点文物保护单位。",
    "tower.md": "臺北101\n\n臺北101是一棟位於臺灣臺北市信義區的摩天大樓。\n\n- 高度：508公尺\n- 建築師：李祖原\n"
    "- 啟用日期：2004年12月31日",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QAService]:
    service = QAService(Settings(index_dir=tmp_path_factory.mktemp("labels")))
    service.ingest_sources([Source(name=n, source=n, text=t) for n, t in DOCS.items()], "default")
    yield service
    service.close()


@pytest.mark.parametrize(
    ("question", "value"),
    [("赵州桥是谁设计的？", "李春"), ("赵州桥全长多少？", "50.82米"), ("臺北101什麼時候啟用？", "2004年12月31日")],
)
def test_the_short_answer_is_the_value_without_its_label(service: QAService, question: str, value: str) -> None:
    answer = asyncio.run(service.ask(question, "default"))
    short = answer.short_answer
    assert answer.found and short is not None and short.text == value
    cited = answer.citations[short.ref - 1]
    assert service.get_document("default", cited.doc_id).text[short.start : short.end] == value
    assert answer.answer.startswith(f"{value}[{short.ref}]")
