"""Conversations over a real socket: `history` on /v1/ask, every message of /v1/chat/completions, the reply's
standalone `question`, and the bounds and shapes of history (no LLM: follow-ups are rewritten by carrying words)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support import copy_index, running_server

pytestmark = pytest.mark.service

HEADLINE = "房寺镇下放了多少项权力?"
FOLLOW_UP = "那执法权限呢?"
MAX_MESSAGES = 6
MAX_CHARS = 3000


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("conversation") / "index")
    env = {"QA_MAX_HISTORY_MESSAGES": str(MAX_MESSAGES), "QA_MAX_HISTORY_CHARS": str(MAX_CHARS)}
    with running_server(index_dir, env) as base:
        yield base


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def first(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/v1/ask", json={"question": HEADLINE}).json()
    assert body["question"] == HEADLINE and "64" in body["answer"]
    return body


def _history(first: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": "user", "content": HEADLINE}, {"role": "assistant", "content": first["answer"]}]


def _cites_413(body: dict[str, Any]) -> bool:
    return any("413项执法权" in c["text"] for c in body["citations"])


def test_a_follow_up_is_searched_with_its_subject_and_cites_the_413_sentence(
    client: httpx.Client, first: dict[str, Any]
) -> None:
    resp = client.post("/v1/ask", json={"question": FOLLOW_UP, "history": _history(first)})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["found"] is True and "413" in body["answer"] and _cites_413(body)
    assert body["question"] != FOLLOW_UP and "房寺镇" in body["question"]
    assert "condense" in body["timings_ms"]


def test_a_question_on_a_new_topic_is_searched_as_asked(client: httpx.Client, first: dict[str, Any]) -> None:
    switch = "温州有多少个乡镇(街道)?"
    body = client.post("/v1/ask", json={"question": switch, "history": _history(first)}).json()
    assert body["question"] == switch
    assert "185" in body["answer"]
    assert all("房寺" not in c["title"] for c in body["citations"])


def test_a_streamed_follow_up_ends_with_the_standalone_question(client: httpx.Client, first: dict[str, Any]) -> None:
    payload = {"question": FOLLOW_UP, "history": _history(first), "stream": True}
    with client.stream("POST", "/v1/ask", json=payload) as resp:
        assert resp.status_code == 200
        text = "".join(resp.iter_text())
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if "event: answer" in b]
    assert blocks, text[:500]
    data = "\n".join(line[6:] for line in blocks[-1].splitlines() if line.startswith("data: "))
    body = json.loads(data)
    assert body["question"] != FOLLOW_UP and _cites_413(body)


def _too_many() -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": "问题"} for i in range(MAX_MESSAGES + 1)]


@pytest.mark.parametrize(
    ("history", "code", "names"),
    [
        ("房寺镇", "invalid_request", "history"),
        ([{"role": "system", "content": "你是助手"}], "invalid_request", "history.0.role"),
        ([{"role": "user"}], "invalid_request", "history.0.content"),
        ([{"role": "user", "content": 413}], "invalid_request", "history.0.content"),
        ([["user", HEADLINE]], "invalid_request", "history.0"),
        (_too_many(), "invalid_history", "QA_MAX_HISTORY_MESSAGES"),
        ([{"role": "assistant", "content": "很长的回答。" * 600}], "invalid_history", "QA_MAX_HISTORY_CHARS"),
    ],
)
def test_bad_history_is_a_422_naming_the_problem(client: httpx.Client, history: object, code: str, names: str) -> None:
    resp = client.post("/v1/ask", json={"question": FOLLOW_UP, "history": history})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert set(resp.json()) == {"error"} and error["code"] == code and names in error["message"]


def test_empty_history_is_a_plain_question(client: httpx.Client) -> None:
    body = client.post("/v1/ask", json={"question": HEADLINE, "history": []}).json()
    assert body["question"] == HEADLINE and "condense" not in body["timings_ms"]


def test_the_openai_client_sends_a_three_message_conversation(server: str, first: dict[str, Any]) -> None:
    openai = OpenAI(base_url=f"{server}/v1", api_key="unused", timeout=120, max_retries=0)
    messages: list[Any] = [
        {"role": "system", "content": "Answer from the documents."},
        {"role": "user", "content": HEADLINE},
        {"role": "assistant", "content": first["answer"]},
        {"role": "user", "content": FOLLOW_UP},
    ]
    completion = openai.chat.completions.create(model="default", messages=messages[1:])  # three messages
    assert "413" in (completion.choices[0].message.content or "")
    extra = completion.model_extra or {}
    assert any("413项执法权" in c["text"] for c in extra["citations"])
    assert extra["question"] != FOLLOW_UP and "房寺镇" in extra["question"]

    streamed = openai.chat.completions.create(model="default", messages=messages, stream=True)  # and a system one
    chunks = list(streamed)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "413" in content
    assert any("413项执法权" in c["text"] for c in (chunks[-1].model_extra or {})["citations"])


def test_chat_history_over_the_bounds_is_a_422(client: httpx.Client) -> None:
    messages = [*_too_many(), {"role": "user", "content": FOLLOW_UP}]
    resp = client.post("/v1/chat/completions", json={"model": "default", "messages": messages})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_history"
    assert "messages" in resp.json()["error"]["message"]
