"""API keys, public (widget) keys scoped to collections, and rate limits per key, visitor and address.

Full keys (`QA_API_KEYS`) may call every route. Public keys (`QA_PUBLIC_KEYS`, `key:collection` pairs) are
meant to be embedded in a web page, so they may only ask, only their collections, only from an allowed origin
(`QA_CORS_ORIGINS`), and each visitor address has its own limit besides the key's. Missing or wrong keys are
counted per address; past `QA_AUTH_FAILURES_PER_MINUTE` that address gets 429 before any key is looked at,
so keys cannot be guessed at speed. With no keys configured the service is open (a local, air-gapped
default) and loopback clients are not rate-limited.

The client address is the socket's peer, or the one `X-Forwarded-For` names when the peer is a proxy in
`QA_TRUSTED_PROXIES` (uvicorn's ProxyHeadersMiddleware, installed only then).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import HTTPException, Request

from qa.config import Settings
from qa.errors import InvalidInput
from qa.index import validate_collection_name

Access = Literal["ask", "full", "ops"]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `name` keys rate limits and logs: a key's fingerprint or the client address, never a key."""

    name: str
    public: bool = False
    collections: frozenset[str] | None = None  # None: every collection

    def may_use(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections


class RateLimiter:
    """A token bucket per name: `per_minute` requests a minute on average, bursts up to that many."""

    _PRUNE_AT = 10_000

    def __init__(self, per_minute: int) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, who: str, now: float) -> float:
        tokens, last = self._buckets.get(who, (self._capacity, now))
        return min(self._capacity, tokens + (now - last) * self._rate)

    def retry_after(self, who: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds until it may."""
        if self._rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(who, now)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                self._prune(now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def blocked_for(self, who: str) -> float:
        """Seconds until `who` has a token again (0 if it has one now); counts nothing."""
        if self._rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(who, time.monotonic())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def _prune(self, now: float) -> None:
        # Buckets that have refilled hold no information; dropping them keeps memory bounded under many addresses.
        if len(self._buckets) > self._PRUNE_AT:
            full = [w for w in self._buckets if self._tokens(w, now) >= self._capacity]
            for who in full:
                del self._buckets[who]


def parse_public_keys(items: list[str], default_collection: str) -> dict[str, frozenset[str]]:
    """`key:collection` items → key → its collections. A key may be listed with several collections."""
    scopes: dict[str, set[str]] = {}
    for item in items:
        key, sep, collection = item.rpartition(":")
        if not sep:
            key, collection = item, default_collection
        key, collection = key.strip(), collection.strip()
        if not key:
            raise InvalidInput(f"QA_PUBLIC_KEYS: {item!r} has no key; write key:collection")
        try:
            validate_collection_name(collection)
        except InvalidInput as exc:
            raise InvalidInput(f"QA_PUBLIC_KEYS: {exc.message}") from None
        scopes.setdefault(key, set()).add(collection)
    return {key: frozenset(names) for key, names in scopes.items()}


def _fingerprint(token: str) -> str:
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:10]


def _find(candidate: str, keys: list[str]) -> str | None:
    found = None
    for key in keys:  # compare against every key, so timing says nothing about which matched
        if hmac.compare_digest(candidate.encode(), key.encode()):
            found = key
    return found


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _too_many(message: str, wait: float) -> HTTPException:
    return HTTPException(429, f"{message}: retry in {wait:.1f} s", headers={"Retry-After": str(max(1, round(wait)))})


class Guard:
    def __init__(self, settings: Settings) -> None:
        self._keys = list(settings.api_keys)
        self._public = parse_public_keys(list(settings.public_keys), settings.collection)
        both = [key for key in self._keys if key in self._public]
        if both:
            # the public list is the one pasted into web pages: the key would give those pages every route
            raise InvalidInput(
                f"a key is in both QA_API_KEYS and QA_PUBLIC_KEYS ({_fingerprint(both[0])}): a public key must "
                "not be a full key; use another key for one of them"
            )
        self._origins = set(settings.cors_origins)
        self._ops_public = settings.metrics_public
        self._limiter = RateLimiter(settings.rate_limit_per_minute)
        self._visitors = RateLimiter(settings.visitor_rate_limit_per_minute)
        self._failures = RateLimiter(settings.auth_failures_per_minute)

    @property
    def keys_configured(self) -> bool:
        return bool(self._keys or self._public)

    def dependency(self, access: Access) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
        """A FastAPI dependency. `ask` routes also take public keys; `ops` routes (metrics, docs, schema) need
        a full key when keys are configured, unless QA_METRICS_PUBLIC is set."""

        async def check(request: Request) -> Principal:
            principal = self._admit(request, access)
            request.state.principal = principal
            return principal

        return check

    def _admit(self, request: Request, access: Access) -> Principal:
        client = request.client.host if request.client else "unknown"
        if access == "full" and request.method not in _SAFE_METHODS:
            self._refuse_cross_site(request)
        if not self.keys_configured:
            anonymous = Principal(name=f"ip:{client}")
            if not _is_loopback(client):
                self._limit(self._limiter, anonymous.name, "rate limit exceeded")
            return anonymous
        if access == "ops" and self._ops_public:
            return Principal(name=f"ip:{client}", public=True, collections=frozenset())
        wait = self._failures.blocked_for(client)
        if wait > 0:
            raise _too_many("too many requests with a missing or wrong API key from this address", wait)
        principal = self._authenticate(request, client)
        if principal is None:
            self._failures.retry_after(client)
            raise HTTPException(401, self._missing_or_wrong(request))
        if principal.public:
            if access != "ask":
                raise HTTPException(403, "this public key may only ask questions")
            origin = request.headers.get("origin")
            if origin not in self._origins and "*" not in self._origins:
                raise HTTPException(403, f"this public key is not allowed from origin {origin or '(none)'}")
            self._limit(self._visitors, f"{principal.name}@{client}", "rate limit for this visitor exceeded")
        self._limit(self._limiter, principal.name, "rate limit exceeded")
        return principal

    def _refuse_cross_site(self, request: Request) -> None:
        """A browser sends a form upload or a DELETE from any page without asking first (CORS only hides the
        reply), so with no keys configured any site a user visits could store or replace their documents.
        Changes are taken from the service's own pages, from origins in QA_CORS_ORIGINS, and from clients that
        are no browser (they send no Origin)."""
        origin = request.headers.get("origin")
        if origin is None:
            if request.headers.get("sec-fetch-site") == "cross-site":
                raise HTTPException(403, "cross-site request refused")
            return
        if origin in self._origins or "*" in self._origins:
            return
        scheme, _, host = origin.partition("://")
        if host and host == request.headers.get("host") and scheme in ("http", "https"):
            return
        raise HTTPException(
            403, f"a change from origin {origin} is refused: add it to QA_CORS_ORIGINS if that page may make it"
        )

    def _authenticate(self, request: Request, client: str) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if _find(token, self._keys) is not None:
            return Principal(name=_fingerprint(token))
        public = _find(token, list(self._public))
        if public is not None:
            return Principal(name=_fingerprint(token), public=True, collections=self._public[public])
        return None

    @staticmethod
    def _missing_or_wrong(request: Request) -> str:
        if request.headers.get("authorization"):
            return "invalid API key"
        return "missing API key: send 'Authorization: Bearer <key>'"

    @staticmethod
    def _limit(limiter: RateLimiter, who: str, message: str) -> None:
        wait = limiter.retry_after(who)
        if wait > 0:
            raise _too_many(message, wait)
