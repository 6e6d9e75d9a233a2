"""The contract's error body everywhere: `{"error": {"code": ..., "message": ...}}`, never a bare 500 for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from qa.errors import QAError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class JSONErrorCORS(CORSMiddleware):
    """Starlette's CORS middleware, whose refused preflight is a plain-text 400 ("Disallowed CORS origin"): here it
    is the JSON error body every other refusal has, naming what was not allowed."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode(errors="replace").removeprefix("Disallowed CORS ")
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        message = f"cross-origin request refused: its {refused} is not allowed (QA_CORS_ORIGINS lists the origins)"
        return error_response(400, "cors_disallowed", message, headers)


def _describe(exc: RequestValidationError) -> tuple[str, str]:
    parts = []
    code = "invalid_request"
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return (
                "malformed_json",
                f"the request body is not valid JSON: {err.get('ctx', {}).get('error', '')}".strip(),
            )
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return code, "; ".join(parts) or "invalid request"


# the body as a whole was not an object: FastAPI reads a body as JSON only when it is sent as JSON
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type"})
# what FastAPI says when it cannot decode a JSON body (not UTF-8, or nested past the parser's depth)
_UNPARSED = "There was an error parsing the body"


def _not_json(request: Request, exc: RequestValidationError) -> str | None:
    """The media type a JSON route was sent instead of JSON, or None when that is not what went wrong."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    whole = [e for e in exc.errors() if tuple(e.get("loc", ())) == ("body",) and e.get("type") in _NOT_AN_OBJECT]
    return (media or "no Content-Type") if whole else None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def _qa_error(_: Request, exc: QAError) -> JSONResponse:
        status = exc.status if exc.status < 500 or exc.status == 503 else 500
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        sent = _not_json(request, exc)
        if sent is not None:
            return error_response(
                415, "unsupported_media_type", f"send the body as JSON with Content-Type: application/json (got {sent})"
            )
        code, message = _describe(exc)
        return error_response(400 if code == "malformed_json" else 422, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and message == _UNPARSED:
            code, message = (
                "malformed_json",
                "the request body is not JSON this server can read: not UTF-8, or nested too deeply",
            )
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"route": request.url.path})
        return error_response(500, "internal_error", "internal error: the server logged the details")
