"""Shared per-request helpers for the routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import HTTPException, Request

from qa.api.security import Principal
from qa.config import Settings
from qa.conversation import Role, Turn
from qa.errors import InvalidHistory, InvalidQuestion, QAError
from qa.index import validate_collection_name
from qa.service import QAService, require_letter_or_digit

T = TypeVar("T")


def service(request: Request) -> QAService:
    svc: QAService = request.app.state.service
    return svc


def settings(request: Request) -> Settings:
    return service(request).settings


def collection_name(request: Request, name: str | None) -> str:
    """The collection a request names (or the default), if the caller's key may use it: 403 otherwise, before
    anything says whether it exists. An empty name is invalid, not the default: the caller named something."""
    collection = validate_collection_name(settings(request).collection if name is None else name)
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and not principal.may_use(collection):
        raise HTTPException(403, f"this key may not use collection '{collection}'")
    return collection


def check_question(request: Request, text: str, field: str = "question") -> str:
    limit = settings(request).max_question_chars
    # a 422 like every other question that cannot be asked ("" is one already, by the request schema)
    if not text.strip():
        raise InvalidQuestion(f"{field} is empty: send a non-blank question")
    if len(text) > limit:
        raise InvalidQuestion(f"{field} is {len(text)} characters long; the limit is {limit} (QA_MAX_QUESTION_CHARS)")
    return require_letter_or_digit(text.strip(), field)


def check_history(request: Request, messages: list[tuple[Role, str]], field: str = "history") -> list[Turn]:
    """Earlier turns within the configured bounds (a 422 naming the limit otherwise)."""
    limits = settings(request)
    if len(messages) > limits.max_history_messages:
        raise InvalidHistory(
            f"{field} holds {len(messages)} messages; the limit is {limits.max_history_messages} "
            "(QA_MAX_HISTORY_MESSAGES): send the most recent turns"
        )
    chars = sum(len(content) for _, content in messages)
    if chars > limits.max_history_chars:
        raise InvalidHistory(
            f"{field} holds {chars} characters; the limit is {limits.max_history_chars} (QA_MAX_HISTORY_CHARS): "
            "send the most recent turns"
        )
    return [Turn(role, content) for role, content in messages]


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""

    status = 499  # nginx's "client closed request": only ever seen in logs and metrics


async def _disconnected(request: Request) -> None:
    # Once the body has been read, the next message the server sends the app is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it (and so any LLM generation under it) if the client disconnects first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, QAError):
            await task
        raise ClientGone
    return task.result()
