"""An upstream LLM's errors stay on the server: clients (a public widget key included) see only a warning code.

The upstream here is a tiny HTTP server on 127.0.0.1 answering 401 the way a hosted provider does, with a
key prefix and its own URLs in the message: a fault the local llama.cpp server cannot be made to produce."""

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
