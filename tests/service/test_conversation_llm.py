"""Follow-ups rewritten by the real local LLM (llama.cpp, Qwen2.5-Coder-1.5B) over the ingested sample corpus,
and the no-LLM rewrite taking over when the LLM is down. Each rewrite costs seconds on two busy cores: few calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.config import Settings
from qa.conversation import Standalone, Turn
from qa.llm_server import LocalLLMServer, free_port
from qa.service import QAService
from tests.service import llm_fixtures
from tests.support import copy_index

llm_weights = llm_fixtures.llm_weights
llm_server = llm_fixtures.llm_server

pytestmark = [pytest.mark.service]

HEADLINE = "房寺镇下放了多少项权力?"
HISTORY = [
    Turn("user", HEADLINE),
    Turn("assistant", "市直18个部门64项行政权力事项下放至房寺镇实施[1],市直11个执法部门413项执法权限下放实施[2]。"),
]


@pytest.fixture(scope="module")
def index_dir(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_index(seed_index, tmp_path_factory.mktemp("conversation-llm") / "index")


def _service(index_dir: Path, base_url: str) -> Iterator[QAService]:
    # a deadline long enough that the LLM path itself is what is tested, not the fallback
    service = QAService(Settings(index_dir=index_dir, llm_base_url=base_url, condense_timeout_s=300))
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="module")
def with_llm(index_dir: Path, llm_server: LocalLLMServer) -> Iterator[QAService]:
    yield from _service(index_dir, llm_server.base_url)


def _condense(service: QAService, question: str, history: list[Turn] = HISTORY) -> Standalone:
    return asyncio.run(service.condenser("default").run(question, history))


@pytest.mark.llm
def test_the_llm_rewrites_a_follow_up_with_its_subject(with_llm: QAService) -> None:
    rewritten = _condense(with_llm, "那执法权限呢?", [Turn("user", HEADLINE), Turn("assistant", "64项。")])
    assert rewritten.method == "llm" and not rewritten.warnings
    assert "房寺镇" in rewritten.question and "执法权限" in rewritten.question
    # When the answer already names 执法权限, the 1.5B model leaves the question as it is, and the carried
    # words decide: either way the question searched for names the town.
    assert "房寺镇" in _condense(with_llm, "那执法权限呢?").question


@pytest.mark.llm
def test_a_topic_switch_stays_as_asked_with_the_llm(with_llm: QAService) -> None:
    assert _condense(with_llm, "温州有多少个乡镇(街道)?") == Standalone("温州有多少个乡镇(街道)?")


def test_with_the_llm_down_the_carried_words_decide_and_the_answer_says_why(index_dir: Path) -> None:
    for service in _service(index_dir, f"http://127.0.0.1:{free_port()}/v1"):
        answer = asyncio.run(service.ask("那执法权限呢?", "default", history=HISTORY))
        assert answer.question != "那执法权限呢?" and "房寺镇" in answer.question
        assert "rewrite_without_llm" in answer.warnings and not any("127.0.0.1" in w for w in answer.warnings)
        assert any("413项执法权" in c.text for c in answer.citations)
