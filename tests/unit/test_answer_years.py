"""A question about one year is answered from what the collection says of that year, or refused: bulletins of
neighbouring years state the same indicators, and another year's figure is a wrong answer however well its
sentence matches (real embedder, FAISS and the packaged answer model, through the service path)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from qa.config import Settings
from qa.service import QAService
from qa.worker import Source

BULLETINS = {
    "2023.txt": "青川市2023年国民经济和社会发展统计公报\n\n2023年，全市实现地区生产总值1825.6亿元，比上年增长5.1%。"
    "年末全市常住人口312.4万人。全年城镇新增就业4.3万人。全年粮食总产量158.2万吨。",
    "2024.txt": "青川市2024年国民经济和社会发展统计公报\n\n2024年，全市实现地区生产总值1932.8亿元，比上年增长5.4%。"
    "年末全市常住人口315.9万人。全年城镇新增就业4.6万人。全年粮食总产量161.5万吨。",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QAService]:
    service = QAService(Settings(index_dir=tmp_path_factory.mktemp("years")))
    service.ingest_sources([Source(name=n, source=n, text=t) for n, t in BULLETINS.items()], "default")
    yield service
    service.close()


def _ask(service: QAService, question: str) -> tuple[bool, str]:
    answer = asyncio.run(service.ask(question, "default"))
    return answer.found, answer.short_answer.text if answer.short_answer else ""


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("青川市2023年地区生产总值是多少?", "1825.6亿元"),
        ("青川市2024年地区生产总值是多少?", "1932.8亿元"),
        ("二〇二三年青川市城镇新增就业多少人?", "4.3万人"),
    ],
)
def test_the_asked_years_figure_is_answered(service: QAService, question: str, figure: str) -> None:
    found, short = _ask(service, question)
    assert found and figure in short


@pytest.mark.parametrize("question", ["青川市2022年地区生产总值是多少?", "What was the GDP of Qingchuan in 2021?"])
def test_a_year_no_document_speaks_of_is_refused(service: QAService, question: str) -> None:
    found, short = _ask(service, question)
    assert not found and short == ""
