"""Health, the chat widget script and the demo page (open); metrics, the OpenAPI schema and its docs page
(`ops_router`: behind a full key when keys are configured)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qa.api.responses import Health

router = APIRouter(tags=["system"])
ops_router = APIRouter(tags=["system"])


def _static(name: str) -> bytes:
    return resources.files("qa.api").joinpath("static", name).read_bytes()


@router.get("/healthz", summary="Liveness", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@ops_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@ops_router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@ops_router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    # every asset from the service itself: FastAPI's default links a CDN, and the page stays blank air-gapped
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} — API",
        swagger_js_url=f"{_DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{_DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{_DOCS_ASSETS}/favicon.png",
    )


_DOCS_ASSETS = "/docs/assets"
_DOCS_TYPES = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


@router.get(_DOCS_ASSETS + "/{name}", include_in_schema=False)
async def docs_asset(name: str) -> Response:
    """Swagger UI's own files (a published library, no secret: open like the widget script)."""
    if name not in _DOCS_TYPES:
        raise HTTPException(404, f"no docs asset '{name}'")
    data = resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(data, media_type=_DOCS_TYPES[name], headers={"Cache-Control": "public, max-age=86400"})


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
