"""Shared per-request helpers for the routers."""

from __future__ import annotations

from fastapi import Request

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
    return validate_collection_name(name or settings(request).collection)


def check_question(request: Request, text: str, field: str = "question") -> str:
    limit = settings(request).max_question_chars
    if not text.strip():
        raise InvalidInput(f"{field} is empty: send a non-blank question")
    if len(text) > limit:
        raise InvalidInput(f"{field} is {len(text)} characters long; the limit is {limit} (QA_MAX_QUESTION_CHARS)")
    return text.strip()
