"""Answering with any OpenAI-compatible chat endpoint (llama.cpp's server, vLLM, OpenAI itself...).

The requests go through the `openai` SDK's async client, which owns the wire protocol: timeouts, retries
with backoff and Retry-After, server-sent events, error bodies. This module decides what the project adds:
an overall deadline per answer, what counts as a malformed reply, and one short reason per failure.

The LLM only writes text with [n] markers; `finalize_answer` (qa/answer/citations.py) turns that into verified
citations. Every way the endpoint can fail (refused connection, timeout, 4xx/5xx, a reply that isn't the
expected JSON, an empty answer) surfaces as `LLMUnavailable` with a short reason, so FallbackAnswerer can
answer extractively instead and say why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

import httpx2
import openai
from typing_extensions import override

from qa.answer import prompts
from qa.answer.base import AnswerDelta, AnswerEvent
from qa.config import Settings
from qa.errors import LLMUnavailable
from qa.query import Query
from qa.text import detect_lang
from qa.types import Answer, Passage

log = logging.getLogger(__name__)

# the longest wait for a TCP connection; the rest of the time budget is for generating
_MAX_CONNECT_S = 10.0
# what the SDK is given as a key when none is configured; the Authorization header is then left out
_NO_KEY = "unused"


class FinalizeAnswer(Protocol):
    def __call__(self, raw_text: str, question: str, passages: Sequence[Passage], *, mode: str) -> Answer: ...


Messages = list[dict[str, str]]


def _default_finalize() -> FinalizeAnswer:
    # imported late: the citation step is a separate module and must not be a hard import-time dependency
    from qa.answer.citations import finalize_answer

    return finalize_answer


class _Client(openai.AsyncOpenAI):
    """The SDK's client, waiting between retries with the answerer's `sleep` and counting the retries, so a
    final failure can say how many attempts it took."""

    def __init__(self, *, sleep: Callable[[float], Awaitable[Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retries = 0
        self._wait = sleep

    @override
    async def _sleep_for_retry(self, *, retries_taken: int, max_retries: int, options: Any, response: Any) -> None:
        headers = response.headers if response is not None else None
        delay = self._calculate_retry_timeout(max_retries - retries_taken, options, headers)
        cause = f"HTTP {response.status_code}" if response is not None else "no response"
        attempt = retries_taken + 1
        log.warning("LLM attempt %d/%d failed (%s); retrying in %.1f s", attempt, max_retries + 1, cause, delay)
        self.retries += 1
        await self._wait(delay)


def _status_detail(exc: openai.APIStatusError) -> str:
    """The server's own error message (OpenAI's shape and llama.cpp's), else the head of the body."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    if isinstance(body, str):
        return body[:200].strip()
    return exc.response.text[:200].strip()


def _message_content(completion: Any) -> str:
    """The assistant text of a non-streamed completion; raises LLMUnavailable for anything malformed. The SDK
    builds its reply objects without validation, so a field the server left out is missing, not None."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise LLMUnavailable("malformed LLM reply: no choices[0].message.content")
    content = getattr(getattr(choices[0], "message", None), "content", None)
    if not isinstance(content, str) or not content.strip():
        raise LLMUnavailable("malformed LLM reply: empty answer text")
    return content


def _delta_content(chunk: Any) -> str:
    """Text of one streamed chunk. The first chunks often carry only {"role": ...} or content null: ''."""
    choices = getattr(chunk, "choices", None)
    if not isinstance(choices, list):
        raise LLMUnavailable("malformed LLM stream: a chunk has no choices")
    if not choices:  # e.g. a final usage-only chunk
        return ""
    content = getattr(getattr(choices[0], "delta", None), "content", None)
    return content if isinstance(content, str) else ""


class LLMAnswerer:
    """Answers with an OpenAI-compatible LLM over the best few passages. Raises LLMUnavailable on failure;
    wrap it in FallbackAnswerer for the never-raises behaviour the Answerer protocol promises.

    `transport` replaces the HTTP transport under the SDK's client; `sleep` is how the client waits between
    retries.
    """

    mode = "llm"

    def __init__(
        self,
        settings: Settings,
        citation_resolver: FinalizeAnswer | None = None,
        *,
        max_passages: int = prompts.DEFAULT_MAX_PASSAGES,
        max_passage_chars: int = prompts.DEFAULT_MAX_PASSAGE_CHARS,
        max_total_chars: int = prompts.DEFAULT_MAX_TOTAL_CHARS,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
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

    def _client(self) -> _Client:
        # One client per call: a shared one would be tied to the event loop that first used it, and a
        # loopback connection costs well under a millisecond next to seconds of generation.
        timeout = self.settings.llm_timeout_s
        key = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key is not None else ""
        return _Client(
            sleep=self._sleep,
            base_url=self.base_url,
            api_key=key or _NO_KEY,
            timeout=httpx2.Timeout(timeout, connect=min(_MAX_CONNECT_S, timeout)),
            max_retries=self.settings.llm_max_retries,
            http_client=openai.DefaultAsyncHttpxClient(transport=self._transport) if self._transport else None,
        )

    def _request(self, messages: Messages, *, stream: bool, max_tokens: int | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            # llama.cpp serves whatever it loaded under any name; other servers need the real one
            "model": self.settings.llm_model or "default",
            "messages": messages,
            "temperature": self.settings.llm_temperature,
            "max_tokens": max_tokens or self.settings.llm_max_tokens,
            "stream": stream,
        }
        key = self.settings.llm_api_key
        if key is None or not key.get_secret_value():
            request["extra_headers"] = {"Authorization": openai.Omit()}
        return request

    def _failure(self, exc: BaseException, client: _Client) -> LLMUnavailable:
        """The one short reason the user is told; retries the SDK made are counted in it."""
        if isinstance(exc, LLMUnavailable):
            return exc
        after = f" after {client.retries + 1} attempts" if client.retries else ""
        if isinstance(exc, openai.APITimeoutError | TimeoutError):
            return LLMUnavailable(f"no reply from {self.base_url} within {self.settings.llm_timeout_s:g} s{after}")
        if isinstance(exc, openai.APIStatusError):
            detail = _status_detail(exc)
            return LLMUnavailable(
                f"HTTP {exc.status_code} from {self.base_url}" + (f": {detail}" if detail else "") + after
            )
        cause = exc.__cause__ if isinstance(exc, openai.APIConnectionError) and exc.__cause__ else exc
        if isinstance(cause, httpx2.ConnectError | httpx2.ConnectTimeout):
            return LLMUnavailable(f"connect error to {self.base_url}{after}")
        if isinstance(exc, ValueError):  # the SDK hands on the JSON decoder's error for a body that isn't JSON
            return LLMUnavailable(f"malformed LLM reply: not JSON ({str(exc)[:80]})")
        if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"LLM error: {exc.message[:200]}")
        return LLMUnavailable(f"{type(cause).__name__} talking to {self.base_url}: {str(cause)[:160]}{after}")

    async def complete(self, messages: Messages, *, max_tokens: int | None = None) -> str:
        """The assistant's full reply text (non-streamed). Retries share one deadline, `llm_timeout_s`: a slow
        model is not made to start over while the user waits."""
        async with self._client() as client:
            try:
                async with asyncio.timeout(self.settings.llm_timeout_s):
                    completion = await client.chat.completions.create(
                        **self._request(messages, stream=False, max_tokens=max_tokens)
                    )
            except (openai.OpenAIError, httpx2.HTTPError, TimeoutError, ValueError) as exc:
                raise self._failure(exc, client) from None
        return _message_content(completion)

    async def stream_text(self, messages: Messages, *, max_tokens: int | None = None) -> AsyncIterator[str]:
        """Yield the reply's text pieces as the server sends them. The SDK retries only before the stream
        starts: after the first piece the caller has shown text, and a repeat would duplicate it."""
        async with self._client() as client:
            try:
                async with asyncio.timeout(self.settings.llm_timeout_s):
                    stream = await client.chat.completions.create(
                        **self._request(messages, stream=True, max_tokens=max_tokens)
                    )
            except (openai.OpenAIError, httpx2.HTTPError, TimeoutError) as exc:
                raise self._failure(exc, client) from None
            got_text = False
            try:
                async with asyncio.timeout(self.settings.llm_timeout_s):
                    async for chunk in stream:
                        piece = _delta_content(chunk)
                        if piece:
                            got_text = got_text or bool(piece.strip())
                            yield piece
            except ValueError as exc:
                raise LLMUnavailable(f"malformed LLM stream: a chunk is not JSON ({str(exc)[:80]})") from None
            except (openai.APIConnectionError, httpx2.HTTPError, TimeoutError) as exc:
                raise LLMUnavailable(self._failure(exc, client).message + " while streaming") from None
            except openai.APIError as exc:  # an error event inside the stream
                raise LLMUnavailable(f"LLM stream error: {exc.message[:200]}") from None
            finally:
                await stream.close()
            if not got_text:
                raise LLMUnavailable("malformed LLM reply: the stream carried no answer text")

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
        refusal = prompts.refusal_sentence(detect_lang(question), self.settings.prompts_dir)
        return self._finalize_answer(refusal, question, [], {"llm_ms": 0.0})

    async def run(self, query: Query, passages: Sequence[Passage]) -> Answer:
        question = query.text
        shown = self.prompt_passages(passages)
        if not shown:
            return self._no_passages(question)
        messages = self.build_messages(question, shown)
        t0 = time.perf_counter()
        raw = await self.complete(messages)
        return self._finalize_answer(raw, question, shown, {"llm_ms": (time.perf_counter() - t0) * 1000})

    async def stream(self, query: Query, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        question = query.text
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
