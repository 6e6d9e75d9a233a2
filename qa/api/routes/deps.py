"""Shared per-request helpers for the routers."""

from __future__ import annotations

from fastapi import HTTPException, Request

from qa.api.security import Principal
from qa.config import Settings
from qa.errors import InvalidInput
from qa.index import validate_collection_name
from qa.service import QAService


def service(request: Request) -> QAService:
    svc: QAService = request.app.state.service
    return svc


def settings(request: Request) -> Settings:
    return service(request).settings


def collection_name(request: Request, name: str | None) -> str:
    """The collection a request names (or the default), if the caller's key may use it: 403 otherwise, before
    anything says whether it exists."""
    collection = validate_collection_name(name or settings(request).collection)
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and not principal.may_use(collection):
        raise HTTPException(403, f"this key may not use collection '{collection}'")
    return collection


def check_question(request: Request, text: str, field: str = "question") -> str:
    limit = settings(request).max_question_chars
    if not text.strip():
        raise InvalidInput(f"{field} is empty: send a non-blank question")
    if len(text) > limit:
        raise InvalidInput(f"{field} is {len(text)} characters long; the limit is {limit} (QA_MAX_QUESTION_CHARS)")
    return text.strip()
