"""POST /v1/ask (JSON or server-sent events) and POST /v1/search."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.answer.base import AnswerDelta
from qa.api.routes.deps import check_question, collection_name, service
from qa.api.schemas import AskRequest, SearchRequest
from qa.errors import QAError
from qa.types import Answer

ask_router = APIRouter(tags=["ask"])
search_router = APIRouter(tags=["ask"])


@ask_router.post(
    "/v1/ask",
    summary="Answer a question with citations",
    description=(
        "With `stream: true` the reply is `text/event-stream`: `delta` events carry answer text as it is "
        "produced, and the last event, `answer`, carries the full JSON body — treat it as authoritative "
        "(its markers match its citations)."
    ),
)
async def ask(body: AskRequest, request: Request) -> object:
    svc = service(request)
    question = check_question(request, body.question)
    name = collection_name(request, body.collection)
    svc.collections.get(name)  # 404 before a stream starts
    if body.stream:
        return EventSourceResponse(_events(request, question, name, body.top_k), ping=15)
    answer = await svc.ask(question, name, body.top_k)
    request.state.timings_ms = answer.timings_ms
    return JSONResponse(answer.as_dict())


async def _events(request: Request, question: str, name: str, top_k: int | None) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in service(request).ask_stream(question, name, top_k):
            if isinstance(event, AnswerDelta):
                yield ServerSentEvent(json.dumps({"text": event.text}, ensure_ascii=False), event="delta")
            elif isinstance(event, Answer):
                request.state.timings_ms = event.timings_ms
                yield ServerSentEvent(json.dumps(event.as_dict(), ensure_ascii=False), event="answer")
    except QAError as exc:
        payload = {"error": {"code": exc.code, "message": exc.message}}
        yield ServerSentEvent(json.dumps(payload, ensure_ascii=False), event="error")
    except asyncio.CancelledError:
        raise


@search_router.post("/v1/search", summary="Retrieve passages, best first")
async def search(body: SearchRequest, request: Request) -> dict[str, object]:
    query = check_question(request, body.query, "query")
    name = collection_name(request, body.collection)
    passages = await asyncio.to_thread(service(request).search, query, name, body.top_k)
    return {"passages": [p.as_dict() for p in passages]}
