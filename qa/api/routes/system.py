"""Health, Prometheus metrics, the chat widget script and the demo page."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["system"])


def _static(name: str) -> bytes:
    return resources.files("qa.api").joinpath("static", name).read_bytes()


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/widget.js", summary="The embeddable chat widget", response_class=Response)
async def widget() -> Response:
    return Response(
        _static("widget.js"),
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/", summary="Demo page with the widget", response_class=Response, include_in_schema=False)
async def index() -> Response:
    return Response(_static("index.html"), media_type="text/html; charset=utf-8")
