"""Keys, scopes, limits and client addresses over a real socket, probed the way an outsider would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import copy_index, running_server

pytestmark = pytest.mark.service

HEADLINE = "房寺镇下放了多少项权力?"
SECRET = "机密项目的代号为青龙七号，预算为4200万元。"
FULL = {"Authorization": "Bearer full-key"}
SITE = "https://site.example"


def _widget(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Origin": SITE, **extra}


def _error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return str(body["error"]["message"])


def _add_private_collection(base: str) -> None:
    doc = {"text": SECRET, "source": "secret.txt"}
    resp = httpx.post(f"{base}/v1/collections/private/documents", json=doc, headers=FULL, timeout=120)
    assert resp.status_code == 201, resp.text


@pytest.fixture(scope="module")
def secured(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Keys required; no proxy is trusted, so X-Forwarded-For is just a header anyone can send."""
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("secured") / "index")
    env = {
        "QA_API_KEYS": "full-key,second-full-key",
        # widget may use default and docs; insider only private; a bare key means the default collection
        "QA_PUBLIC_KEYS": "widget:default,widget:docs,insider:private,limited:default,bare",
        "QA_CORS_ORIGINS": SITE,
        "QA_RATE_LIMIT_PER_MINUTE": "1000",
        "QA_VISITOR_RATE_LIMIT_PER_MINUTE": "5",
        "QA_AUTH_FAILURES_PER_MINUTE": "6",
    }
    with running_server(index_dir, env) as base:
        _add_private_collection(base)
        yield base


@pytest.fixture(scope="module")
def proxied(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Behind a trusted proxy on 127.0.0.1 (its X-Forwarded-For names the client), metrics left public."""
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("proxied") / "index")
    env = {
        "QA_API_KEYS": "full-key",
        "QA_PUBLIC_KEYS": "widget:default",
        "QA_CORS_ORIGINS": SITE,
        "QA_TRUSTED_PROXIES": "127.0.0.1",
        "QA_METRICS_PUBLIC": "true",
        "QA_RATE_LIMIT_PER_MINUTE": "1000",
        "QA_VISITOR_RATE_LIMIT_PER_MINUTE": "4",
        "QA_AUTH_FAILURES_PER_MINUTE": "5",
    }
    with running_server(index_dir, env) as base:
        _add_private_collection(base)
        yield base


def test_public_key_asks_only_its_collections(secured: str) -> None:
    with httpx.Client(base_url=secured, timeout=120) as c:
        ok = c.post("/v1/ask", json={"question": HEADLINE}, headers=_widget("widget"))
        assert ok.status_code == 200 and ok.json()["found"], ok.text
        for ask in (
            {"question": "机密项目的代号是什么?", "collection": "private"},
            {"question": "机密项目的代号是什么?", "collection": "no-such-collection"},
        ):
            message = _error(c.post("/v1/ask", json=ask, headers=_widget("widget")), 403)
            assert ask["collection"] in message
        chat = {"model": "private", "messages": [{"role": "user", "content": "机密项目的代号是什么?"}]}
        _error(c.post("/v1/chat/completions", json=chat, headers=_widget("widget")), 403)
        streamed = {"question": "机密项目的代号是什么?", "collection": "private", "stream": True}
        _error(c.post("/v1/ask", json=streamed, headers=_widget("widget")), 403)

        # a key listed with another collection asks there, and only there
        private = {"question": "机密项目的代号是什么?", "collection": "private"}
        inside = c.post("/v1/ask", json=private, headers=_widget("insider"))
        assert inside.status_code == 200 and "青龙七号" in inside.json()["answer"], inside.text
        _error(c.post("/v1/ask", json={"question": HEADLINE}, headers=_widget("insider")), 403)
        assert c.post("/v1/ask", json={"question": HEADLINE}, headers=_widget("bare")).status_code == 200

        # full keys are not scoped
        full = c.post("/v1/ask", json={"question": "机密项目的代号是什么?", "collection": "private"}, headers=FULL)
        assert full.status_code == 200 and "青龙七号" in full.json()["answer"]


def test_public_key_may_not_list_search_upload_or_read_metrics(secured: str) -> None:
    with httpx.Client(base_url=secured, timeout=60) as c:
        key = _widget("widget")
        _error(c.get("/v1/models", headers=key), 403)
        _error(c.post("/v1/search", json={"query": "镇"}, headers=key), 403)
        _error(c.get("/v1/collections/default/documents", headers=key), 403)
        _error(c.post("/v1/collections/default/documents", json={"text": "x"}, headers=key), 403)
        for path in ("/metrics", "/openapi.json", "/docs"):
            _error(c.get(path, headers=key), 403)


def test_metrics_docs_and_schema_need_a_full_key(secured: str) -> None:
    with httpx.Client(base_url=secured, timeout=60) as c:
        for path in ("/metrics", "/openapi.json", "/docs"):
            _error(c.get(path), 401)
            assert c.get(path, headers=FULL).status_code == 200, path
        metrics = c.get("/metrics", headers=FULL).text
        assert 'qa_index_documents{collection="private"}' in metrics
        assert "/v1/ask" in c.get("/openapi.json", headers=FULL).json()["paths"]
        assert c.get("/healthz").status_code == 200
        assert c.get("/widget.js").status_code == 200


def test_spoofed_forwarded_for_gets_no_fresh_visitor_limit(secured: str) -> None:
    """No proxy is trusted: each request claims another client, but all come from 127.0.0.1."""
    with httpx.Client(base_url=secured, timeout=120) as c:
        statuses = [
            c.post(
                "/v1/ask", json={"question": HEADLINE}, headers=_widget("limited", **{"X-Forwarded-For": f"10.9.0.{i}"})
            ).status_code
            for i in range(8)
        ]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}, statuses


def test_cors_allow_list(secured: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with httpx.Client(base_url=secured, timeout=60) as c:
        ok = c.options("/v1/ask", headers={"Origin": SITE, **preflight})
        assert ok.headers.get("access-control-allow-origin") == SITE
        bad = c.options("/v1/ask", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in bad.headers
        # refused with the JSON error body every refusal has, saying what was not allowed
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "cors_disallowed"
        assert "origin" in bad.json()["error"]["message"]
        # a page may read every refusal, the body limit's too
        big = c.post("/v1/ask", content=b"{" + b" " * 1_100_000 + b"}", headers=_widget("widget"))
        _error(big, 413)
        assert big.headers.get("access-control-allow-origin") == SITE


def test_wrong_keys_are_rate_limited_per_address(secured: str) -> None:
    """Runs last against `secured`: afterwards 127.0.0.1 is locked out of it for a while."""
    with httpx.Client(base_url=secured, timeout=60) as c:
        statuses = [
            c.post("/v1/search", json={"query": "镇"}, headers={"Authorization": f"Bearer guess-{i}"}).status_code
            for i in range(8)
        ]
        # six failures a minute per address, some spent by the earlier tests' keyless requests
        refused = statuses.index(429)
        assert 1 <= refused <= 6 and statuses == [401] * refused + [429] * (8 - refused), statuses
        spoofed = {"Authorization": "Bearer guess-x", "X-Forwarded-For": "10.9.9.9"}
        message = _error(c.post("/v1/search", json={"query": "镇"}, headers=spoofed), 429)
        assert "wrong API key" in message
        # locked out means locked out: a guess that happens to be right is no oracle
        locked = c.post("/v1/search", json={"query": "镇"}, headers=FULL)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1


def test_trusted_proxy_forwarded_client_is_limited_on_its_own(proxied: str) -> None:
    with httpx.Client(base_url=proxied, timeout=120) as c:

        def ask(client: str) -> int:
            headers = _widget("widget", **{"X-Forwarded-For": f"{client}, 127.0.0.1"})
            return c.post("/v1/ask", json={"question": HEADLINE}, headers=headers).status_code

        first = [ask("198.51.100.1") for _ in range(6)]
        assert first[:4] == [200] * 4 and set(first[4:]) == {429}, first
        assert ask("198.51.100.2") == 200  # another visitor of the same key has a bucket of its own

        def guess(client: str, key: str) -> int:
            headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": client}
            return c.post("/v1/search", json={"query": "镇"}, headers=headers).status_code

        assert [guess("203.0.113.7", f"guess-{i}") for i in range(5)] == [401] * 5
        assert guess("203.0.113.7", "guess-5") == 429
        assert guess("203.0.113.7", "full-key") == 429
        assert guess("203.0.113.8", "full-key") == 200


def test_public_metrics_never_name_collections(proxied: str) -> None:
    with httpx.Client(base_url=proxied, timeout=60) as c:
        metrics = c.get("/metrics")
        assert metrics.status_code == 200
        assert "qa_index_documents" in metrics.text and "collection=" not in metrics.text
        assert "private" not in metrics.text
        assert c.get("/openapi.json").status_code == 200
        _error(c.get("/v1/models"), 401)
