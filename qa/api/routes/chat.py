"""POST /v1/chat/completions and GET /v1/models in OpenAI's formats, so the official client works.

`model` names the collection. The assistant message carries the answer with its [n] markers, and the
response has a top-level `citations` list and the standalone `question` searched for (in a stream: on the last
chunk). Every message counts: the user and assistant messages before the last user message are that question's
conversation (system messages are the client's instructions to a model, and this service's answers follow its
own rules).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.api.responses import (
    ERRORS,
    STREAM,
    ChatChoice,
    ChatCompletionResponse,
    ChatMessageOut,
    CitationOut,
    ModelList,
    ModelOut,
    Usage,
)
from qa.api.routes.deps import (
    ClientGone,
    check_history,
    check_question,
    collection_name,
    service,
    until_disconnected,
)
from qa.api.schemas import ChatCompletionRequest
from qa.conversation import Role, Turn
from qa.errors import InvalidInput, QAError
from qa.service import QAService

chat_router = APIRouter(tags=["openai"], responses=ERRORS)
models_router = APIRouter(tags=["openai"], responses=ERRORS)


def _usage(svc: QAService, body: ChatCompletionRequest, answer: str) -> Usage:
    prompt = sum(svc.count_tokens(m.text()) for m in body.messages)
    completion = svc.count_tokens(answer)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _conversation(body: ChatCompletionRequest) -> tuple[str, list[tuple[Role, str]]]:
    """The last user message, and the user and assistant messages before it (oldest first)."""
    for last in range(len(body.messages) - 1, -1, -1):
        if body.messages[last].role == "user":
            break
    else:
        raise InvalidInput("messages holds no 'user' message to answer")
    earlier: list[tuple[Role, str]] = []
    for message in body.messages[:last]:
        text = message.text()
        if message.role == "user" and text.strip():
            earlier.append(("user", text))
        elif message.role == "assistant" and text.strip():
            earlier.append(("assistant", text))
    return body.messages[last].text(), earlier


@chat_router.post(
    "/v1/chat/completions",
    summary="OpenAI Chat Completions over a collection",
    response_model=ChatCompletionResponse,
    responses=STREAM,
)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> object:
    svc = service(request)
    asked, earlier = _conversation(body)
    question = check_question(request, asked, "messages[-1].content")
    history = check_history(request, earlier, "messages")
    name = collection_name(request, body.model)
    svc.collections.get(name)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return EventSourceResponse(_chunks(request, body, question, history, name, completion_id, created), ping=15)
    try:
        answer = await until_disconnected(request, svc.ask(question, name, history=history))
    except ClientGone:
        return Response(status_code=ClientGone.status)
    request.state.timings_ms = answer.timings_ms
    return ChatCompletionResponse(
        id=completion_id,
        created=created,
        model=name,
        choices=[ChatChoice(message=ChatMessageOut(content=answer.answer))],
        citations=[CitationOut.model_validate(c.as_dict()) for c in answer.citations],
        found=answer.found,
        question=answer.question or question,
        warnings=answer.warnings,
        usage=_usage(svc, body, answer.answer),
    )


async def _chunks(
    request: Request,
    body: ChatCompletionRequest,
    question: str,
    history: list[Turn],
    name: str,
    completion_id: str,
    created: int,
) -> AsyncIterator[ServerSentEvent]:
    def chunk(delta: dict[str, str] | None, finish: str | None = None, **extra: object) -> ServerSentEvent:
        # OpenAI's usage chunk, the last one, has no choices
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        payload: dict[str, object] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": name,
            "choices": choices,
            **extra,
        }
        return ServerSentEvent(json.dumps(payload, ensure_ascii=False))

    yield chunk({"role": "assistant", "content": ""})
    try:
        # An OpenAI client keeps every content delta it is sent, and an LLM's text is checked only once it is
        # complete (its numbers against its citations, its markers renumbered): text sent before that could not be
        # taken back when the check replaces it. So the content is the final answer, sent whole; /v1/ask streams
        # the deltas live, its last event being authoritative.
        svc = service(request)
        answer = await svc.ask(question, name, history=history)
        request.state.timings_ms = answer.timings_ms
        yield chunk({"content": answer.answer})
        yield chunk(
            {},
            "stop",
            citations=[c.as_dict() for c in answer.citations],
            found=answer.found,
            question=answer.question or question,
            answer=answer.answer,
            warnings=answer.warnings,
        )
        if body.stream_options is not None and body.stream_options.include_usage:
            yield chunk(None, usage=_usage(svc, body, answer.answer).model_dump())
    except QAError as exc:
        yield ServerSentEvent(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
    yield ServerSentEvent("[DONE]")


@models_router.get("/v1/models", summary="The collections, as OpenAI models", response_model=ModelList)
async def models(request: Request) -> ModelList:
    return ModelList(data=[ModelOut(id=n) for n in service(request).collections.names()])
