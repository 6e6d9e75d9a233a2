"""What reaches clients when the upstream LLM fails: its errors stay on the server (clients, a public widget key
included, see only a warning code), and text the service rejected never reaches an OpenAI stream.

The upstreams here are tiny HTTP servers on 127.0.0.1: one answering 401 the way a hosted provider does, with a
key prefix and its own URLs in the message, one streaming a sum no passage states; faults the local llama.cpp
server cannot be made to produce on demand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support import copy_index, running_server

pytestmark = pytest.mark.service

HEADLINE = "房寺镇下放了多少项权力?"
LEAKS = ("sk-live-7f3a", "Incorrect API key", "platform.example", "/v1/chat/completions")


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = {
            "error": {
                "message": "Incorrect API key provided: sk-live-7f3a****. Find your key at https://platform.example/keys.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
        data = json.dumps(body).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def behind_a_failing_llm(
    seed_index: Path, tmp_path_factory: pytest.TempPathFactory, upstream: str
) -> Iterator[tuple[str, Path]]:
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("llm-errors") / "index")
    env = {
        "QA_LLM_BASE_URL": upstream,
        "QA_LLM_API_KEY": "sk-live-7f3a-secret",
        "QA_LLM_MAX_RETRIES": "0",
        "QA_API_KEYS": "full-key",
        "QA_PUBLIC_KEYS": "widget:default",
        "QA_CORS_ORIGINS": "https://site.example",
    }
    with running_server(index_dir, env) as base:
        yield base, index_dir.parent / f"server-{base.rsplit(':', 1)[1]}.log"


@pytest.mark.parametrize("key", ["widget", "full-key"])
def test_upstream_llm_error_reaches_clients_only_as_a_code(behind_a_failing_llm: tuple[str, Path], key: str) -> None:
    base, log = behind_a_failing_llm
    headers = {"Authorization": f"Bearer {key}", "Origin": "https://site.example"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as c:
        replies = [
            c.post("/v1/ask", json={"question": HEADLINE}),
            c.post("/v1/ask", json={"question": HEADLINE, "stream": True}),
            c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HEADLINE}]}),
            # a follow-up: the question rewrite asks the LLM first, and says it fell back
            c.post("/v1/ask", json={"question": "那执法权限呢?", "history": [{"role": "user", "content": HEADLINE}]}),
        ]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert not any(leak in reply.text for leak in LEAKS), reply.text[-600:]
    body = replies[0].json()
    assert body["found"] and "64" in body["answer"]  # answered extractively
    assert "llm_unavailable" in body["warnings"], body["warnings"]
    assert "rewrite_without_llm" in replies[3].json()["warnings"], replies[3].json()["warnings"]
    # the operator still sees what went wrong
    assert "Incorrect API key" in log.read_text(errors="replace")


class _Miscounting(BaseHTTPRequestHandler):
    """An LLM whose answer states a sum no passage does, streamed or whole as asked: the service rejects it once it
    is complete."""

    PIECES = ("房寺镇一共", "下放了97项", "权力[1]。")

    def do_POST(self) -> None:
        asked = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self.send_response(200)
        if not asked.get("stream"):
            message = {"role": "assistant", "content": "".join(self.PIECES)}
            data = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "m",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                },
                ensure_ascii=False,
            ).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for piece in self.PIECES:
            delta = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(delta, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


def test_an_openai_stream_never_carries_llm_text_the_check_rejected(seed_index: Path, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Miscounting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"QA_LLM_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1", "QA_LLM_MAX_RETRIES": "0"}
    try:
        with running_server(copy_index(seed_index, tmp_path / "index"), env) as base:
            body = {"model": "default", "messages": [{"role": "user", "content": HEADLINE}], "stream": True}
            with (
                httpx.Client(base_url=base, timeout=120) as c,
                c.stream("POST", "/v1/chat/completions", json=body) as r,
            ):
                events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
            # unstreamed, the whole reply is checked alike
            whole = httpx.post(f"{base}/v1/ask", json={"question": HEADLINE}, timeout=120).json()
    finally:
        server.shutdown()
    content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    final = events[-1]
    assert final["warnings"] == ["llm_ungrounded"] and "97" not in content
    # what the client shows is the checked answer its citations describe
    assert content == final["answer"] and "64" in content and final["citations"]
    assert whole["warnings"] == ["llm_ungrounded"] and "97" not in whole["answer"] and "64" in whole["answer"]


class _Hanging(BaseHTTPRequestHandler):
    """An LLM that takes the request and never answers (a wedged server); counts what it was asked."""

    asked = 0

    def do_POST(self) -> None:
        type(self).asked += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        threading.Event().wait(60)

    def log_message(self, *args: object) -> None:
        pass


def test_after_the_llm_failed_questions_are_answered_without_waiting_for_it(seed_index: Path, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "QA_LLM_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
        "QA_LLM_TIMEOUT_S": "3",
        "QA_LLM_MAX_RETRIES": "0",
        "QA_LLM_REST_S": "600",
    }
    try:
        with (
            running_server(copy_index(seed_index, tmp_path / "index"), env) as base,
            httpx.Client(base_url=base, timeout=120) as c,
        ):
            first = c.post("/v1/ask", json={"question": HEADLINE}).json()
            asked = _Hanging.asked
            later = [
                c.post("/v1/ask", json={"question": HEADLINE}).json(),
                c.post("/v1/ask", json={"question": HEADLINE, "stream": True}),
                # a question the documents do not answer is refused without the LLM anyway: no LLM warning
                c.post("/v1/ask", json={"question": "火星上的第一座城市叫什么名字？", "stream": True}),
            ]
    finally:
        server.shutdown()
    assert asked >= 1 and "llm_unavailable" in first["warnings"] and "64" in first["answer"], first
    # while it rests, the LLM is not asked again: the answers come extractively, saying why
    assert _Hanging.asked == asked
    assert "llm_unavailable" in later[0]["warnings"] and "64" in later[0]["answer"], later[0]
    assert later[1].status_code == 200 and "llm_unavailable" in later[1].text
    assert later[2].status_code == 200 and '"found":false' in later[2].text.replace(" ", "")
    assert "llm_unavailable" not in later[2].text, later[2].text[-400:]
