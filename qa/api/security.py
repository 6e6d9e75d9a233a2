"""API keys, public (widget) keys, and per-client rate limiting.

Full keys (`QA_API_KEYS`) may call every /v1 route. Public keys (`QA_PUBLIC_KEYS`) are meant to be embedded in
a web page, so they may only ask, only from an allowed origin (`QA_CORS_ORIGINS`), and are rate-limited like
everyone else. With no keys configured the service is open (a local, air-gapped default).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from qa.config import Settings


@dataclass(frozen=True, slots=True)
class Principal:
    name: str  # a key's fingerprint or the client address; never the key itself
    public: bool


class RateLimiter:
    """A token bucket per principal: `per_minute` requests a minute on average, bursts up to that many."""

    def __init__(self, per_minute: int) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, who: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds until it may."""
        if self._rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self._rate


def _matches(candidate: str, keys: list[str]) -> bool:
    return any(hmac.compare_digest(candidate.encode(), key.encode()) for key in keys)


class Guard:
    def __init__(self, settings: Settings) -> None:
        self._keys = list(settings.api_keys)
        self._public = list(settings.public_keys)
        self._origins = set(settings.cors_origins)
        self._limiter = RateLimiter(settings.rate_limit_per_minute)

    def dependency(self, *, ask: bool) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
        """A FastAPI dependency for a route; `ask` routes also accept public keys."""

        async def check(request: Request) -> Principal:
            principal = self._authenticate(request, ask=ask)
            wait = self._limiter.retry_after(principal.name)
            if wait > 0:
                raise HTTPException(
                    429,
                    f"rate limit exceeded: retry in {wait:.1f} s",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            request.state.principal = principal.name
            return principal

        return check

    def _authenticate(self, request: Request, *, ask: bool) -> Principal:
        client = request.client.host if request.client else "unknown"
        if not self._keys and not self._public:
            return Principal(name=f"ip:{client}", public=False)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'")
        fingerprint = f"key:{hash(token) & 0xFFFFFFFF:08x}"
        if _matches(token, self._keys):
            return Principal(name=fingerprint, public=False)
        if _matches(token, self._public):
            if not ask:
                raise HTTPException(403, "this public key may only ask questions")
            origin = request.headers.get("origin")
            if origin not in self._origins:
                raise HTTPException(403, f"this public key is not allowed from origin {origin or '(none)'}")
            return Principal(name=fingerprint, public=True)
        raise HTTPException(401, "invalid API key")
