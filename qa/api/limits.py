"""A request body cap enforced while reading, so an oversized body is refused before it is buffered."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api.errors import error_response


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Pure ASGI middleware: 413 when Content-Length or the streamed body exceeds the limit for its route."""

    def __init__(self, app: ASGIApp, *, default_limit: int, upload_limit: int, upload_prefix: str) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_upload = path.startswith(self.upload_prefix) and path.endswith("/documents")
        # multipart framing adds a little to the files themselves
        limit = self.upload_limit + 64 * 1024 if is_upload else self.default_limit
        # the message names the setting and its value, not the framing allowance added to it
        said = (
            f"the upload exceeds the limit of {self.upload_limit:,} bytes (QA_MAX_UPLOAD_BYTES)"
            if is_upload
            else f"the request body exceeds the limit of {self.default_limit:,} bytes (QA_MAX_BODY_BYTES)"
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(scope, receive, send, said)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send, said)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, message: str) -> None:
        response = error_response(413, "payload_too_large", message)
        await response(scope, receive, send)
