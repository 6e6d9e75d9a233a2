"""POST /v1/ask (JSON or server-sent events) and POST /v1/search."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.answer.base import AnswerDelta
from qa.api.responses import ERRORS, STREAM, AskResponse, PassageOut, SearchResponse
from qa.api.routes.deps import (
    ClientGone,
    check_history,
    check_question,
    collection_name,
    service,
    until_disconnected,
)
from qa.api.schemas import AskRequest, SearchRequest
from qa.conversation import Turn
from qa.errors import QAError
from qa.types import Answer

ask_router = APIRouter(tags=["ask"], responses=ERRORS)
search_router = APIRouter(tags=["ask"], responses=ERRORS)


@ask_router.post(
    "/v1/ask",
    summary="Answer a question with citations",
    description=(
        "With `stream: true` the reply is `text/event-stream`: `delta` events carry answer text as it is "
        "produced, and the last event, `answer`, carries the full JSON body — treat it as authoritative "
        "(its markers match its citations)."
    ),
    response_model=AskResponse,
    responses=STREAM,
)
async def ask(body: AskRequest, request: Request) -> object:
    svc = service(request)
    question = check_question(request, body.question)
    history = check_history(request, [(m.role, m.content) for m in body.history or []])
    name = collection_name(request, body.collection)
    svc.collections.get(name)  # 404 before a stream starts
    if body.stream:
        return EventSourceResponse(_events(request, question, name, body.top_k, history), ping=15)
    try:
        answer = await until_disconnected(request, svc.ask(question, name, body.top_k, history=history))
    except ClientGone:
        return Response(status_code=ClientGone.status)
    request.state.timings_ms = answer.timings_ms
    return AskResponse.of(answer, question)


async def _events(
    request: Request, question: str, name: str, top_k: int | None, history: list[Turn]
) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in service(request).ask_stream(question, name, top_k, history=history):
            if isinstance(event, AnswerDelta):
                yield ServerSentEvent(json.dumps({"text": event.text}, ensure_ascii=False), event="delta")
            elif isinstance(event, Answer):
                request.state.timings_ms = event.timings_ms
                body = AskResponse.of(event, question).model_dump(mode="json")
                yield ServerSentEvent(json.dumps(body, ensure_ascii=False), event="answer")
    except QAError as exc:
        payload = {"error": {"code": exc.code, "message": exc.message}}
        yield ServerSentEvent(json.dumps(payload, ensure_ascii=False), event="error")
    except asyncio.CancelledError:
        raise


@search_router.post("/v1/search", summary="Retrieve passages, best first", response_model=SearchResponse)
async def search(body: SearchRequest, request: Request) -> SearchResponse:
    query = check_question(request, body.query, "query")
    name = collection_name(request, body.collection)
    passages = await asyncio.to_thread(service(request).search, query, name, body.top_k)
    return SearchResponse(passages=[PassageOut.model_validate(p.as_dict()) for p in passages])
