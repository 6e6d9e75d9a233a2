"""The FastAPI application factory: routers, security, limits, errors, metrics and logs wired together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa import __version__
from qa.api.errors import JSONErrorCORS, install_error_handlers
from qa.api.jobs import Ingests
from qa.api.limits import BodySizeLimit
from qa.api.observability import AccessLog, Metrics
from qa.api.routes import ask, chat, documents, jobs, system
from qa.api.security import Guard
from qa.config import Settings
from qa.service import QAService

log = logging.getLogger(__name__)


def _index_stats(service: QAService) -> dict[str, dict[str, int]]:
    if "collections" not in service.__dict__:  # don't load models just to be scraped
        return {}
    return service.collections.stats()


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    settings = settings or Settings()
    svc = service or QAService(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Load models once, before the first request, off the event loop.
        await asyncio.to_thread(svc.warm_up)
        await asyncio.to_thread(svc.start_answer_processes)
        log.info("ready", extra={"index_dir": str(settings.index_dir), "llm": settings.llm_enabled})
        yield
        await app.state.ingests.close()
        svc.close()

    guard = Guard(settings)
    app = FastAPI(
        title="qa",
        version=__version__,
        summary="Question answering over document collections, with sentence-level citations.",
        lifespan=lifespan,
        # served by system.ops_router instead, behind the same keys as /metrics
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = svc
    # collection names are listed only to scrapers who could list them anyway
    per_collection = not (guard.keys_configured and settings.metrics_public)
    app.state.metrics = Metrics(lambda: _index_stats(svc), per_collection=per_collection)
    app.state.ingests = Ingests(svc, on_report=app.state.metrics.count_ingest)
    install_error_handlers(app)

    # Public (widget) keys may only ask; every other /v1 route needs a full key when keys are configured.
    may_ask = [Depends(guard.dependency("ask"))]
    full = [Depends(guard.dependency("full"))]
    app.include_router(ask.ask_router, dependencies=may_ask)
    app.include_router(chat.chat_router, dependencies=may_ask)
    app.include_router(ask.search_router, dependencies=full)
    app.include_router(chat.models_router, dependencies=full)
    app.include_router(documents.router, dependencies=full)
    app.include_router(jobs.router, dependencies=full)
    app.include_router(system.router)
    app.include_router(system.ops_router, dependencies=[Depends(guard.dependency("ops"))])

    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        upload_prefix="/v1/collections/",
    )
    if settings.cors_origins:
        # outside the body limit, so a browser can read its 413 too
        app.add_middleware(
            JSONErrorCORS,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(AccessLog, metrics=app.state.metrics)
    if settings.trusted_proxies:
        # outermost, so limits, logs and keys all see the client the trusted proxy names
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
