"""Prometheus metrics and one structured log line per request (route, status, timings; never document text)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.service import IngestReport

log = logging.getLogger("qa.access")


class _IndexSize(Collector):
    """Reads index sizes at scrape time, so the gauge never goes stale. Per collection only when the scraper
    may see collection names; summed over all collections otherwise."""

    def __init__(self, stats: Callable[[], dict[str, dict[str, int]]], *, per_collection: bool) -> None:
        self._stats = stats
        self._per_collection = per_collection

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["collection"] if self._per_collection else []
        docs = GaugeMetricFamily("qa_index_documents", "Documents stored", labels=labels)
        chunks = GaugeMetricFamily("qa_index_chunks", "Chunks indexed", labels=labels)
        stats = self._stats()
        if self._per_collection:
            for name, one in stats.items():
                docs.add_metric([name], one.get("documents", 0))
                chunks.add_metric([name], one.get("chunks", 0))
        else:
            docs.add_metric([], sum(one.get("documents", 0) for one in stats.values()))
            chunks.add_metric([], sum(one.get("chunks", 0) for one in stats.values()))
        yield docs
        yield chunks


class Metrics:
    """The app's own registry (no process-global state), so several apps can live in one process."""

    def __init__(self, index_stats: Callable[[], dict[str, dict[str, int]]], *, per_collection: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "qa_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.stage = Histogram(
            "qa_stage_seconds",
            "Time per pipeline stage of an answer",
            ["stage"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.ingested = Counter(
            "qa_ingest_documents_total", "Documents ingested over HTTP", ["status"], registry=self.registry
        )
        self.ingested_chunks = Counter("qa_ingest_chunks_total", "Chunks written by ingest", registry=self.registry)
        self.registry.register(_IndexSize(index_stats, per_collection=per_collection))

    def count_ingest(self, report: IngestReport) -> None:
        for status, items in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)):
            if items:
                self.ingested.labels(status).inc(len(items))
        self.ingested_chunks.inc(report.chunks)


# Label values come only from these sets (or one catch-all), so no request can add series to /metrics.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in _METHODS else "other"


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"


class AccessLog:
    """Pure ASGI middleware (works with streaming responses): metrics plus one JSON log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.requests.labels(_method(scope), route, _status_label(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            state = scope.get("state", {})
            timings = state.get("timings_ms") if isinstance(state, dict) else None
            for stage, ms in (timings or {}).items():
                self.metrics.stage.labels(stage).observe(ms / 1000)
            log.info(
                "request",
                extra={
                    "method": _method(scope),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "timings_ms": timings,
                    "client": getattr(state.get("principal"), "name", None) if isinstance(state, dict) else None,
                },
            )
