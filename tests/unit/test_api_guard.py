"""The key guard's start-up checks: settings an operator can get wrong in a way that opens the service."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from qa.api.security import Guard
from qa.config import Settings
from qa.errors import InvalidInput


def test_a_key_both_full_and_public_is_refused_without_naming_it() -> None:
    settings = Settings(api_keys=["shared-secret", "admin"], public_keys=["shared-secret:default"])
    with pytest.raises(InvalidInput) as raised:
        Guard(settings)
    assert "QA_API_KEYS" in raised.value.message and "QA_PUBLIC_KEYS" in raised.value.message
    assert "shared-secret" not in raised.value.message
    Guard(Settings(api_keys=["admin"], public_keys=["widget:default"]))


def _request(headers: dict[str, str], method: str = "POST") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": method, "path": "/v1/ask", "headers": raw, "client": ("203.0.113.9", 5000)}
    return Request(scope)


def test_any_origin_admits_public_keys_from_every_page() -> None:
    guard = Guard(Settings(api_keys=["admin"], public_keys=["widget:default"], cors_origins=["*"]))
    asked = asyncio.run(
        guard.dependency("ask")(_request({"Authorization": "Bearer widget", "Origin": "https://a.example"}))
    )
    assert asked.public and asked.may_use("default")
    strict = Guard(Settings(api_keys=["admin"], public_keys=["widget:default"], cors_origins=["https://b.example"]))
    with pytest.raises(HTTPException) as refused:
        asyncio.run(
            strict.dependency("ask")(_request({"Authorization": "Bearer widget", "Origin": "https://a.example"}))
        )
    assert refused.value.status_code == 403
