"""The HTTP contract over a real socket: a real `qa serve` on 127.0.0.1 over the ingested sample corpus."""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.support import copy_index, open_fds, running_server, server_pid

pytestmark = pytest.mark.service

DOCS = "/v1/collections/default/documents"

HEADLINE = "房寺镇下放了多少项权力?"


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("api") / "index")
    # no keys, as `make serve` runs it; a low per-address limit that loopback clients are exempt from
    env = {
        "QA_MAX_UPLOAD_BYTES": "200000",
        "QA_RATE_LIMIT_PER_MINUTE": "20",
        "QA_TRUSTED_PROXIES": "127.0.0.1",
        "QA_MAX_OPEN_COLLECTIONS": "4",
    }
    with running_server(index_dir, env) as base:
        yield base


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=120) as c:
        yield c


def _assert_error(resp: httpx.Response, status: int | None = None) -> dict[str, str]:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    if status is not None:
        assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return dict(body["error"])


def _stored_text(client: httpx.Client, doc_id: str) -> str:
    resp = client.get(f"/v1/collections/default/documents/{doc_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["text"])


def _assert_citations_exact(client: httpx.Client, citations: list[dict[str, object]]) -> None:
    for c in citations:
        text = _stored_text(client, str(c["doc_id"]))
        assert text[int(c["start"]) : int(c["end"])] == c["text"]  # type: ignore[call-overload]


def test_ask_answers_headline_with_both_figures_cited(client: httpx.Client) -> None:
    resp = client.post("/v1/ask", json={"question": HEADLINE})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"answer", "found", "citations", "short_answer", "question", "timings_ms"} <= set(body)
    assert body["found"] is True and body["question"] == HEADLINE
    assert "64" in body["answer"] and "413" in body["answer"]
    refs = {c["ref"] for c in body["citations"]}
    assert refs and all(f"[{r}]" in body["answer"] for r in refs)
    assert any("64" in c["text"] for c in body["citations"])
    assert any("413" in c["text"] for c in body["citations"])
    assert {"retrieve", "total"} <= set(body["timings_ms"])
    _assert_citations_exact(client, body["citations"])


def test_ask_refuses_when_documents_do_not_say(client: httpx.Client) -> None:
    body = client.post("/v1/ask", json={"question": "房寺镇2030年的GDP目标是多少?"}).json()
    assert body["found"] is False
    assert body["citations"] == []


def test_ask_stream_ends_with_full_body(client: httpx.Client) -> None:
    events: list[tuple[str, str]] = []
    with client.stream("POST", "/v1/ask", json={"question": HEADLINE, "stream": True}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        event = "message"
        for line in resp.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((event, line.split(":", 1)[1].strip()))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and "delta" in kinds
    final = json.loads(events[-1][1])
    assert final["found"] and "64" in final["answer"] and final["citations"]


def test_search_returns_passages_best_first(client: httpx.Client) -> None:
    resp = client.post("/v1/search", json={"query": "规模以上企业", "top_k": 3})
    assert resp.status_code == 200, resp.text
    passages = resp.json()["passages"]
    assert 1 <= len(passages) <= 3
    assert set(passages[0]) == {"doc_id", "source", "title", "text", "start", "end", "score"}
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


def test_openai_client_plain_and_streamed(server: str) -> None:
    oa = OpenAI(base_url=f"{server}/v1", api_key="unused", timeout=120)
    models = [m.id for m in oa.models.list().data]
    assert "default" in models
    completion = oa.chat.completions.create(model="default", messages=[{"role": "user", "content": HEADLINE}])
    content = completion.choices[0].message.content or ""
    assert "64" in content and "413" in content
    extra = completion.model_extra or {}
    assert extra["citations"] and all(f"[{c['ref']}]" in content for c in extra["citations"])
    # usage is counted in the service's tokenizer encoding (cl100k_base by default)
    from qa.chunk.tokens import tiktoken_encoding
    from qa.config import Settings

    encoding = tiktoken_encoding("cl100k_base", Settings().cache_dir)
    expected = (len(encoding.encode_ordinary(HEADLINE)), len(encoding.encode_ordinary(content)))
    usage = completion.usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == expected
    assert usage.total_tokens == sum(expected)

    stream = oa.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": HEADLINE}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    last_extra: dict[str, object] = {}
    chunks = list(stream)
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        last_extra = chunk.model_extra or last_extra
    streamed = "".join(parts)
    assert "64" in streamed and "413" in streamed
    assert last_extra.get("citations")
    # the usage chunk comes last, with no choices, as OpenAI sends it
    assert not chunks[-1].choices and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(encoding.encode_ordinary(streamed))
    assert all(c.usage is None for c in chunks[:-1])


def test_upload_ask_delete_never_cited_again(client: httpx.Client) -> None:
    text = "星河湾社区2026年共建成智慧书屋37座。\n智慧书屋由社区居委会统一管理。"
    resp = client.post(
        "/v1/collections/default/documents",
        files=[("files", ("../../etc/星河湾社区简报.txt", text.encode(), "text/plain"))],
    )
    assert resp.status_code == 201, resp.text
    doc = resp.json()["documents"][0]
    assert "/" not in doc["doc_id"] and doc["source"] == "星河湾社区简报.txt"
    question = "星河湾社区建成了多少座智慧书屋?"
    body = client.post("/v1/ask", json={"question": question}).json()
    assert "37" in body["answer"]
    assert any(c["doc_id"] == doc["doc_id"] for c in body["citations"])
    _assert_citations_exact(client, body["citations"])

    listed = client.get("/v1/collections/default/documents").json()["documents"]
    assert any(d["doc_id"] == doc["doc_id"] for d in listed)
    assert client.delete(f"/v1/collections/default/documents/{doc['doc_id']}").status_code == 200
    _assert_error(client.get(f"/v1/collections/default/documents/{doc['doc_id']}"), 404)
    after = client.post("/v1/ask", json={"question": question}).json()
    assert all(c["doc_id"] != doc["doc_id"] for c in after["citations"])
    hits = client.post("/v1/search", json={"query": question, "top_k": 20}).json()["passages"]
    assert all(p["doc_id"] != doc["doc_id"] for p in hits)


def test_json_upload_and_concurrent_duplicate_uploads_store_once(client: httpx.Client) -> None:
    payload = {"text": "青石桥村今年新修机耕路12公里。", "title": "青石桥村简讯", "source": "qsq-brief"}

    def upload() -> int:
        return client.post("/v1/collections/default/documents", json=payload).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: upload(), range(4)))
    assert statuses == [201] * 4
    docs = [
        d for d in client.get("/v1/collections/default/documents").json()["documents"] if d["source"] == "qsq-brief"
    ]
    assert len(docs) == 1


def test_a_page_on_another_site_cannot_change_documents(client: httpx.Client, server: str) -> None:
    """With no keys (a local install) a form post or DELETE from any page the user visits reaches the service
    without asking first: changes are taken only from the service's own pages and from clients that are no
    browser."""
    listed = client.get("/v1/collections/default/documents").json()["documents"]
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    upload = client.post(DOCS, files=[("files", ("injected.txt", "注入的内容。".encode()))], headers=evil)
    assert "QA_CORS_ORIGINS" in _assert_error(upload, 403)["message"]
    doc_id = listed[0]["doc_id"]
    _assert_error(client.delete(f"{DOCS}/{doc_id}", headers=evil), 403)
    # a browser that sends no Origin but says the request is cross-site
    _assert_error(client.delete(f"{DOCS}/{doc_id}", headers={"Sec-Fetch-Site": "cross-site"}), 403)
    assert client.get("/v1/collections/default/documents").json()["documents"] == listed
    # asking stays open to any page, and the service's own pages may change documents
    assert client.post("/v1/ask", json={"question": "房寺镇在哪里?"}, headers=evil).status_code == 200
    own = {"Origin": server, "Sec-Fetch-Site": "same-origin"}
    made = client.post(DOCS, json={"text": "同源页面上传：今年新建公园3座。", "source": "same-origin.txt"}, headers=own)
    assert made.status_code == 201, made.text
    assert client.delete(f"{DOCS}/{made.json()['documents'][0]['doc_id']}", headers=own).status_code == 200


def test_a_chosen_id_another_document_holds_is_refused(client: httpx.Client) -> None:
    docs = client.get("/v1/collections/default/documents").json()["documents"]
    holder = docs[0]
    taken = {"text": "覆盖测试：这段文字不应替换任何文档。", "id": holder["doc_id"]}
    refused = client.post("/v1/collections/default/documents", json=taken)
    assert _assert_error(refused, 409)["code"] == "document_id_taken"
    assert holder["source"] in refused.json()["error"]["message"]
    # the very same text under another source is refused too: the chosen id names the document the client means
    text = client.get(f"/v1/collections/default/documents/{holder['doc_id']}").json()["text"]
    copy = {"text": text, "id": holder["doc_id"], "source": "copy-of-holder.txt"}
    copied = client.post("/v1/collections/default/documents", json=copy)
    assert _assert_error(copied, 409)["code"] == "document_id_taken"
    after = client.get("/v1/collections/default/documents").json()["documents"]
    assert {d["doc_id"]: d["content_hash"] for d in after} == {d["doc_id"]: d["content_hash"] for d in docs}
    assert {d["doc_id"]: d["source"] for d in after} == {d["doc_id"]: d["source"] for d in docs}


def test_queries_keep_answering_during_an_upload(client: httpx.Client, server: str) -> None:
    big = "\n".join(f"第{i}段:示范园区第{i}号厂房年产值{i * 3}万元。" for i in range(1, 400))

    def upload() -> tuple[int, float]:
        resp = httpx.post(
            f"{server}/v1/collections/default/documents",
            json={"text": big, "title": "园区厂房产值", "source": "park-report"},
            timeout=300,
        )
        return resp.status_code, time.monotonic()

    searched: list[float] = []  # when each search's reply arrived
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(upload)
        while not pending.done():
            resp = client.post("/v1/search", json={"query": "规模以上企业"})
            assert resp.status_code == 200
            searched.append(time.monotonic())
        status, uploaded_at = pending.result()
    assert status == 201
    # searches were served while the upload was being read, chunked and embedded, not queued behind it
    during = [t for t in searched if t < uploaded_at]
    assert len(during) >= 2, f"{len(during)} of {len(searched)} searches were answered before the upload finished"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"question": ""}, 422),
        ({"question": "   "}, 422),
        ({"question": "问" * 100_000}, 422),
        ({"question": 42}, None),
        ({"question": ["a"]}, None),
        ({}, None),
        ({"question": "x", "top_k": -1}, None),
        ({"question": "x", "top_k": "five"}, None),
        ({"question": "x", "collection": "no-such-collection"}, 404),
        ({"question": "x", "collection": "../etc"}, None),
        # an empty name is invalid like any other bad name, not a request for the default collection
        ({"question": "x", "collection": ""}, 400),
    ],
)
def test_bad_ask_input_is_a_4xx_with_json_error(client: httpx.Client, body: object, status: int | None) -> None:
    _assert_error(client.post("/v1/ask", json=body), status)


@pytest.mark.parametrize("question", ["？！。。……", "🙂🙂🚀", "!!! ???", "——"])
def test_question_without_letters_or_digits_is_a_422(client: httpx.Client, question: str) -> None:
    for path, body in (
        ("/v1/ask", {"question": question}),
        ("/v1/ask", {"question": question, "stream": True}),
        ("/v1/search", {"query": question}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]}),
    ):
        error = _assert_error(client.post(path, json=body), 422)
        assert error["code"] == "invalid_question" and "letter or digit" in error["message"], (path, error)


def test_openapi_describes_every_response(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
            if path in ("/widget.js", "/metrics"):
                continue
            assert "$ref" in str(ok["content"]["application/json"]["schema"]), (method, path)
    ask = schema["components"]["schemas"]["AskResponse"]["properties"]
    assert {"answer", "found", "citations", "short_answer", "question", "timings_ms"} <= set(ask)
    # a store or model that is down is a 503 on every route that reads a collection
    for path in ("/v1/ask", "/v1/search", "/v1/collections/{name}/documents"):
        assert all("503" in op["responses"] for op in schema["paths"][path].values()), path


def test_malformed_json_and_wrong_content_type(client: httpx.Client) -> None:
    _assert_error(
        client.post("/v1/ask", content=b'{"question": "x"', headers={"content-type": "application/json"}), 400
    )
    _assert_error(client.post("/v1/ask", content=b"\xff\xfe\x00garbage", headers={"content-type": "application/json"}))
    _assert_error(
        client.post("/v1/collections/default/documents", content=b"hello", headers={"content-type": "text/plain"})
    )
    # JSON sent as another type (curl -d sends a form) is named as such, not as a body that is no object
    for headers in ({"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}):
        reply = client.post("/v1/ask", content=b'{"question": "x"}', headers=headers)
        _assert_error(reply, 415)
        assert "Content-Type: application/json" in reply.json()["error"]["message"]
    deep = client.post("/v1/ask", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})
    _assert_error(deep, 400)
    assert deep.json()["error"]["code"] == "malformed_json"


def test_json_routes_report_the_same_mistake_the_same_way(client: httpx.Client) -> None:
    """A script that handles /v1/ask's errors by code handles a JSON upload's the same way: a body that is not
    JSON is a 400 `malformed_json`, a JSON body of the wrong shape a 422 `invalid_request`."""
    json_type = {"content-type": "application/json"}
    for path in ("/v1/ask", DOCS):
        broken = client.post(path, content=b'{"text": "x"', headers=json_type)
        assert _assert_error(broken, 400)["code"] == "malformed_json", path
        for wrong in ({"text": 42}, {"question": ["a"]}, ["a list"]):
            reply = client.post(path, json=wrong)
            assert _assert_error(reply, 422)["code"] == "invalid_request", (path, wrong, reply.text)
    missing = _assert_error(client.post(DOCS, json={"title": "no text"}), 422)
    assert "text" in missing["message"]


def test_bad_uploads_are_refused_and_nothing_stored_is_lost(client: httpx.Client) -> None:
    before = client.get("/v1/collections/default/documents").json()["documents"]
    garbage = bytes(range(256)) * 64
    _assert_error(client.post("/v1/collections/default/documents", files=[("files", ("scan.pdf", garbage))]))
    _assert_error(client.post("/v1/collections/default/documents", files=[("files", ("notes.txt", garbage))]))
    _assert_error(client.post("/v1/collections/default/documents", files=[("files", ("tool.exe", b"MZ" * 10))]), 415)
    too_big = client.post("/v1/collections/default/documents", files=[("files", ("big.txt", b"a" * 400_000))])
    # the limit said is the setting's, named (not the multipart allowance the body is checked against)
    assert "200,000 bytes (QA_MAX_UPLOAD_BYTES)" in _assert_error(too_big, 413)["message"]
    huge = b'{"question": "' + b"a" * 1_100_000 + b'"}'
    too_long = client.post("/v1/ask", content=huge, headers={"content-type": "application/json"})
    assert "(QA_MAX_BODY_BYTES)" in _assert_error(too_long, 413)["message"]
    _assert_error(client.post("/v1/collections/default/documents", files=[("files", ("..", b"hello"))]))
    # two files of one name: the second would replace the first (and a folder part is no part of the name)
    twice = [("files", ("a/same.txt", "甲文件。".encode())), ("files", ("b/same.txt", "乙文件。".encode()))]
    refused = client.post("/v1/collections/default/documents", files=twice)
    _assert_error(refused)
    assert "same.txt" in refused.json()["error"]["message"]
    _assert_error(client.post("/v1/collections/default/documents", json={"text": ""}))
    _assert_error(client.post("/v1/collections/bad name!/documents", json={"text": "x"}))
    after = client.get("/v1/collections/default/documents").json()["documents"]
    assert {d["doc_id"]: d["content_hash"] for d in after} == {d["doc_id"]: d["content_hash"] for d in before}
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/ask", json={"question": HEADLINE}).json()["found"] is True


def test_metrics_and_docs(client: httpx.Client) -> None:
    client.post("/v1/search", json={"query": "镇"})
    text = client.get("/metrics").text
    assert "qa_requests_total" in text and "qa_index_chunks" in text and "qa_request_seconds_bucket" in text
    docs = client.get("/docs")
    assert docs.status_code == 200
    # everything the page loads comes from the service: no CDN on an air-gapped machine
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        fetched = client.get(asset)
        assert fetched.status_code == 200 and len(fetched.content) > 1000, asset
    assert client.get("/docs/assets/../../etc/passwd").status_code == 404
    assert "/v1/ask" in client.get("/openapi.json").json()["paths"]


def test_local_clients_are_not_throttled_without_keys(client: httpx.Client) -> None:
    """An evaluation script on the same machine sends far more than the per-address limit a minute."""
    statuses = [client.post("/v1/search", json={"query": "镇", "top_k": 1}).status_code for _ in range(60)]
    assert statuses == [200] * 60
    # a remote client (named by the trusted proxy on 127.0.0.1) is limited per address
    remote = {"X-Forwarded-For": "203.0.113.50"}
    statuses = [
        client.post("/v1/search", json={"query": "镇", "top_k": 1}, headers=remote).status_code for _ in range(25)
    ]
    assert statuses[:20] == [200] * 20 and set(statuses[20:]) == {429}, statuses


def test_metrics_series_stay_bounded_under_odd_methods(client: httpx.Client) -> None:
    for i in range(40):
        client.request(f"PROBE{i}", "/healthz")
        client.get(f"/no/such/path/{i}")
    before = client.get("/metrics").text
    for i in range(40, 300):
        client.request(f"PROBE{i}", "/healthz")
        client.get(f"/no/such/path/{i}")
    after = client.get("/metrics").text
    series = [line for line in after.splitlines() if line.startswith("qa_requests_total{")]
    assert not any("PROBE" in line or "/no/such" in line for line in series)
    assert len(series) == len([line for line in before.splitlines() if line.startswith("qa_requests_total{")])
    assert 'method="other"' in after and 'route="unmatched"' in after


def test_many_collections_do_not_hold_descriptors_forever(client: httpx.Client, server: str) -> None:
    pid = server_pid(server)
    before = open_fds(pid)
    for i in range(120):
        name = f"many-{i:03d}"
        doc = {"text": f"第{i}号集合的测试文本。", "source": f"t{i}.txt"}
        assert client.post(f"/v1/collections/{name}/documents", json=doc).status_code == 201
        assert client.post("/v1/search", json={"query": "测试", "collection": name}).status_code == 200
    time.sleep(11)  # past the grace a collection used moments ago is given
    assert client.post("/v1/search", json={"query": "测试", "collection": "many-000"}).status_code == 200
    # at most QA_MAX_OPEN_COLLECTIONS are open now: a few descriptors each, not ~1.5 per collection ever used
    assert open_fds(pid) - before < 4 * 4, (before, open_fds(pid))
    listed = client.get("/v1/collections/many-007/documents").json()["documents"]
    assert [d["source"] for d in listed] == ["t7.txt"]
