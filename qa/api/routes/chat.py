"""POST /v1/chat/completions and GET /v1/models in OpenAI's formats, so the official client works.

`model` names the collection. The assistant message carries the answer with its [n] markers, and the
response has a top-level `citations` list (in a stream: on the last chunk).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.answer.base import AnswerDelta
from qa.api.routes.deps import check_question, collection_name, service
from qa.api.schemas import ChatCompletionRequest
from qa.errors import InvalidInput, QAError
from qa.types import Answer

chat_router = APIRouter(tags=["openai"])
models_router = APIRouter(tags=["openai"])


def _question(body: ChatCompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            return message.text()
    raise InvalidInput("messages holds no 'user' message to answer")


@chat_router.post("/v1/chat/completions", summary="OpenAI Chat Completions over a collection")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> object:
    svc = service(request)
    question = check_question(request, _question(body), "messages[-1].content")
    name = collection_name(request, body.model)
    svc.collections.get(name)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return EventSourceResponse(_chunks(request, question, name, completion_id, created), ping=15)
    answer = await svc.ask(question, name)
    request.state.timings_ms = answer.timings_ms
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.as_dict() for c in answer.citations],
        "found": answer.found,
        "warnings": answer.warnings,
    }


async def _chunks(
    request: Request, question: str, name: str, completion_id: str, created: int
) -> AsyncIterator[ServerSentEvent]:
    def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> ServerSentEvent:
        payload: dict[str, object] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return ServerSentEvent(json.dumps(payload, ensure_ascii=False))

    yield chunk({"role": "assistant", "content": ""})
    streamed = ""
    try:
        async for event in service(request).ask_stream(question, name):
            if isinstance(event, AnswerDelta):
                streamed += event.text
                yield chunk({"content": event.text})
            elif isinstance(event, Answer):
                request.state.timings_ms = event.timings_ms
                # The final answer (renumbered, verified markers) is what the citations describe; when the
                # streamed text differs from it, send the difference so the concatenated content matches.
                tail = event.answer[len(streamed) :] if event.answer.startswith(streamed) else ""
                final = {"content": tail} if tail else {}
                yield chunk(
                    final,
                    "stop",
                    citations=[c.as_dict() for c in event.citations],
                    found=event.found,
                    answer=event.answer,
                    warnings=event.warnings,
                )
    except QAError as exc:
        yield ServerSentEvent(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
    yield ServerSentEvent("[DONE]")


@models_router.get("/v1/models", summary="The collections, as OpenAI models")
async def models(request: Request) -> dict[str, object]:
    names = service(request).collections.names()
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 0, "owned_by": "qa"} for n in names],
    }
