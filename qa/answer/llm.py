"""Answering with any OpenAI-compatible chat endpoint (llama.cpp's server, vLLM, OpenAI itself...).

The LLM only writes text with [n] markers; `finalize_answer` (qa/answer/citations.py) turns that into verified
citations. Every way the endpoint can fail (refused connection, timeout, 4xx/5xx, a reply that isn't the
expected JSON, an empty answer) surfaces as `LLMUnavailable` with a short reason, so FallbackAnswerer can
answer extractively instead and say why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import httpx

from qa.answer import prompts
from qa.answer.base import AnswerDelta, AnswerEvent
from qa.config import Settings
from qa.errors import LLMUnavailable
from qa.types import Answer, Passage

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Errors where the request most likely never reached a model that started work, so repeating is cheap.
# Timeouts are not retried: a slow model would only be made to start over while the user waits.
_RETRY_ERRORS: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.PoolTimeout,
)
_MAX_BACKOFF_S = 8.0
_MAX_RETRY_AFTER_S = 10.0


class FinalizeAnswer(Protocol):
    def __call__(self, raw_text: str, question: str, passages: Sequence[Passage], *, mode: str) -> Answer: ...


Messages = list[dict[str, str]]


class _Retryable(Exception):
    """A failed attempt worth repeating; `reason` is what the user is told if the last attempt fails too."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _default_finalize() -> FinalizeAnswer:
    # imported late: the citation step is a separate module and must not be a hard import-time dependency
    from qa.answer.citations import finalize_answer

    return finalize_answer


def _error_detail(response: httpx.Response) -> str:
    """The server's own error message when it sent one (OpenAI shape or llama.cpp's), else the body's head."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:200]
        if isinstance(err, str):
            return err[:200]
    return json.dumps(body, ensure_ascii=False)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= _MAX_RETRY_AFTER_S else None


def _message_content(body: Any) -> str:
    """The assistant text of a non-streamed completion; raises LLMUnavailable for anything malformed."""
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMUnavailable(f"malformed LLM reply: no choices[0].message.content ({exc!r})") from None
    if not isinstance(content, str) or not content.strip():
        raise LLMUnavailable("malformed LLM reply: empty answer text")
    return content


def _delta_content(chunk: Any) -> str:
    """Text of one streamed chunk. The first chunks often carry only {"role": ...} or content null: ''."""
    if not isinstance(chunk, dict):
        raise LLMUnavailable("malformed LLM stream: a chunk is not a JSON object")
    if "error" in chunk:
        err = chunk["error"]
        message = err.get("message") if isinstance(err, dict) else err
        raise LLMUnavailable(f"LLM stream error: {str(message)[:200]}")
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise LLMUnavailable("malformed LLM stream: a chunk has no choices")
    if not choices:  # e.g. a final usage-only chunk
        return ""
    first = choices[0]
    delta = first.get("delta") if isinstance(first, dict) else None
    if delta is None:
        return ""
    if not isinstance(delta, dict):
        raise LLMUnavailable("malformed LLM stream: delta is not an object")
    content = delta.get("content")
    return content if isinstance(content, str) else ""


class LLMAnswerer:
    """Answers with an OpenAI-compatible LLM over the best few passages. Raises LLMUnavailable on failure;
    wrap it in FallbackAnswerer for the never-raises behaviour the Answerer protocol promises."""

    mode = "llm"

    def __init__(
        self,
        settings: Settings,
        citation_resolver: FinalizeAnswer | None = None,
        *,
        max_passages: int = prompts.DEFAULT_MAX_PASSAGES,
        max_passage_chars: int = prompts.DEFAULT_MAX_PASSAGE_CHARS,
        max_total_chars: int = prompts.DEFAULT_MAX_TOTAL_CHARS,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        if not settings.llm_base_url:
            raise LLMUnavailable("no LLM configured: set QA_LLM_BASE_URL (e.g. http://127.0.0.1:8081/v1)")
        self.settings = settings
        self.base_url = settings.llm_base_url.rstrip("/")
        self._finalize = citation_resolver
        self.max_passages = max_passages
        self.max_passage_chars = max_passage_chars
        self.max_total_chars = max_total_chars
        self._transport = transport
        self._sleep = sleep

    # -- the request -------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        key = self.settings.llm_api_key
        if key is not None and key.get_secret_value():
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        return headers

    def _payload(self, messages: Messages, *, stream: bool, max_tokens: int | None) -> dict[str, Any]:
        return {
            # llama.cpp serves whatever it loaded under any name; other servers need the real one
            "model": self.settings.llm_model or "default",
            "messages": messages,
            "temperature": self.settings.llm_temperature,
            "max_tokens": max_tokens or self.settings.llm_max_tokens,
            "stream": stream,
        }

    def _client(self) -> httpx.AsyncClient:
        # One client per call: a shared one would be tied to the event loop that first used it, and a
        # loopback connection costs well under a millisecond next to seconds of generation.
        timeout = httpx.Timeout(self.settings.llm_timeout_s, connect=min(10.0, self.settings.llm_timeout_s))
        return httpx.AsyncClient(timeout=timeout, headers=self._headers(), transport=self._transport)

    def _failure_reason(self, exc: BaseException) -> str:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return f"connect error to {self.base_url}"
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return f"no reply from {self.base_url} within {self.settings.llm_timeout_s:g} s"
        return f"{type(exc).__name__} talking to {self.base_url}: {str(exc)[:160]}"

    async def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        """Run `attempt` until it succeeds, fails for good, or retries run out (exponential backoff)."""
        tries = self.settings.llm_max_retries + 1
        for number in range(tries):
            try:
                return await attempt()
            except _Retryable as exc:
                reason, retry_after = exc.reason, exc.retry_after
            except _RETRY_ERRORS as exc:
                reason, retry_after = self._failure_reason(exc), None
            except (httpx.TimeoutException, TimeoutError) as exc:
                raise LLMUnavailable(self._failure_reason(exc)) from None
            except httpx.HTTPError as exc:
                raise LLMUnavailable(self._failure_reason(exc)) from None
            if number == tries - 1:
                suffix = f" after {tries} attempts" if tries > 1 else ""
                raise LLMUnavailable(reason + suffix)
            delay = retry_after if retry_after is not None else min(_MAX_BACKOFF_S, 0.5 * 2**number)
            log.warning("LLM attempt %d/%d failed (%s); retrying in %.1f s", number + 1, tries, reason, delay)
            await self._sleep(delay)
        raise AssertionError("unreachable")

    def _check_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        detail = _error_detail(response)
        reason = f"HTTP {response.status_code} from {self.base_url}" + (f": {detail}" if detail else "")
        if response.status_code in _RETRY_STATUS:
            raise _Retryable(reason, _retry_after(response))
        raise LLMUnavailable(reason)

    async def complete(self, messages: Messages, *, max_tokens: int | None = None) -> str:
        """The assistant's full reply text (non-streamed)."""
        payload = self._payload(messages, stream=False, max_tokens=max_tokens)

        async def attempt() -> str:
            async with self._client() as client, asyncio.timeout(self.settings.llm_timeout_s):
                response = await client.post(self.endpoint, json=payload)
                self._check_status(response)
                try:
                    body = response.json()
                except ValueError:
                    raise LLMUnavailable(f"malformed LLM reply: not JSON ({response.text[:80]!r})") from None
                return _message_content(body)

        text: str = await self._with_retries(attempt)
        return text

    async def stream_text(self, messages: Messages, *, max_tokens: int | None = None) -> AsyncIterator[str]:
        """Yield the reply's text pieces as the server sends them (SSE). Retries happen only before the
        first piece: after that the caller has shown text, and a repeat would duplicate it."""
        payload = self._payload(messages, stream=True, max_tokens=max_tokens)
        async with self._client() as client:
            response: httpx.Response = await self._with_retries(lambda: self._open_stream(client, payload))
            try:
                got_text = False
                async with asyncio.timeout(self.settings.llm_timeout_s):
                    async for piece in self._iter_pieces(response):
                        got_text = got_text or bool(piece.strip())
                        yield piece
                if not got_text:
                    raise LLMUnavailable("malformed LLM reply: the stream carried no answer text")
            except (httpx.HTTPError, TimeoutError) as exc:
                raise LLMUnavailable(self._failure_reason(exc) + " while streaming") from None
            finally:
                await response.aclose()

    async def _open_stream(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
        request = client.build_request("POST", self.endpoint, json=payload, headers={"Accept": "text/event-stream"})
        response = await client.send(request, stream=True)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            self._check_status(response)
        return response

    async def _iter_pieces(self, response: httpx.Response) -> AsyncIterator[str]:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            # some servers ignore stream=true and answer with one JSON body: take it whole
            raw = await response.aread()
            try:
                body = json.loads(raw)
            except ValueError:
                raise LLMUnavailable(f"malformed LLM reply: not JSON ({raw[:80]!r})") from None
            yield _message_content(body)
            return
        async for line in response.aiter_lines():
            line = line.strip()
            if not line.startswith("data:"):
                continue  # blank separators, ": ping" comments, "event:" names
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError:
                raise LLMUnavailable(f"malformed LLM stream: a chunk is not JSON ({data[:80]!r})") from None
            piece = _delta_content(chunk)
            if piece:
                yield piece

    # -- the Answerer protocol ---------------------------------------------------------------------------

    def prompt_passages(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages actually shown to the model; [n] in its reply is a 1-based index into this list."""
        return prompts.select_passages(passages, self.max_passages, self.max_total_chars)

    def build_messages(self, question: str, passages: Sequence[Passage]) -> Messages:
        return prompts.build_messages(question, passages, self.settings.prompts_dir, self.max_passage_chars)

    def _finalize_answer(self, raw: str, question: str, shown: Sequence[Passage], timings: dict[str, float]) -> Answer:
        finalize = self._finalize or _default_finalize()
        answer = finalize(raw, question, shown, mode=self.mode)
        answer.timings_ms.update(timings)
        return answer

    def _no_passages(self, question: str) -> Answer:
        # nothing to answer from: say so without spending seconds of generation on it
        refusal = prompts.REFUSAL_TEXT[prompts.question_language(question)]
        return self._finalize_answer(refusal, question, [], {"llm_ms": 0.0})

    async def run(self, question: str, passages: Sequence[Passage]) -> Answer:
        shown = self.prompt_passages(passages)
        if not shown:
            return self._no_passages(question)
        messages = self.build_messages(question, shown)
        t0 = time.perf_counter()
        raw = await self.complete(messages)
        return self._finalize_answer(raw, question, shown, {"llm_ms": (time.perf_counter() - t0) * 1000})

    async def stream(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        shown = self.prompt_passages(passages)
        if not shown:
            yield self._no_passages(question)
            return
        messages = self.build_messages(question, shown)
        t0 = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        async for piece in self.stream_text(messages):
            if first is None:
                first = (time.perf_counter() - t0) * 1000
            parts.append(piece)
            yield AnswerDelta(piece)
        timings = {"llm_ms": (time.perf_counter() - t0) * 1000, "llm_first_token_ms": first or 0.0}
        yield self._finalize_answer("".join(parts), question, shown, timings)
