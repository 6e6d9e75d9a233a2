"""Response bodies, so /openapi.json describes what every route returns, in the shapes clients rely on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from qa.types import Answer


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_question`, `file_too_large`.")
    message: str = Field(description="What went wrong and what to do about it.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "Malformed request"),
        (401, "Missing or wrong API key"),
        (403, "The key may not do this"),
        (404, "No such collection or document"),
        (409, "Conflict: a document id another document holds, or a cancelled ingest"),
        (413, "Too large"),
        (415, "Body not sent as JSON (or, for uploads, a file type not read)"),
        (422, "Invalid input"),
        (429, "Rate limit exceeded (see Retry-After)"),
        (503, "A store, model or queue the request needs is unavailable; retry later"),
    )
}
# the OpenAPI entry of a route that may answer with server-sent events instead of JSON
STREAM: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}}


class CitationOut(BaseModel):
    ref: int
    doc_id: str
    source: str = Field(description="File name, path relative to the ingested folder, or URL; never a server path.")
    title: str
    text: str = Field(description="Exactly the stored document text [start:end].")
    start: int
    end: int
    score: float


class ShortAnswerOut(BaseModel):
    text: str = Field(description="The minimal answering span: the stored text [start:end] of citation `ref`.")
    ref: int
    start: int
    end: int


class AskResponse(BaseModel):
    answer: str = Field(description="The answer with [n] markers naming citations by `ref`.")
    found: bool
    citations: list[CitationOut]
    short_answer: ShortAnswerOut | None = None
    question: str = Field(
        description="The standalone question used for retrieval: the asked one, or a follow-up rewritten with its "
        "`history` (the asked one when it stands alone)."
    )
    mode: str = Field(description="`extractive`, `llm`, or `extractive_fallback` when the LLM failed.")
    warnings: list[str]
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, answer: Answer, asked: str) -> AskResponse:
        """The reply body; `question` is the asked one unless the answer says which it used."""
        return cls.model_validate({**answer.as_dict(), "question": answer.question or asked})


class PassageOut(BaseModel):
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float


class SearchResponse(BaseModel):
    passages: list[PassageOut]


class StoredDocumentOut(BaseModel):
    doc_id: str
    source: str
    title: str
    content_hash: str
    status: Literal["added", "updated", "unchanged"]


class UploadResponse(BaseModel):
    documents: list[StoredDocumentOut]


class DocumentSummary(BaseModel):
    doc_id: str
    source: str
    title: str
    content_hash: str
    chunks: int
    added_at: float
    updated_at: float


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentOut(BaseModel):
    doc_id: str
    source: str
    title: str
    content_hash: str
    text: str


class Deleted(BaseModel):
    deleted: str


class Health(BaseModel):
    status: str


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "qa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Tokens of the messages received and of the answer sent, counted in the service's tokenizer encoding
    (`QA_TOKENIZER_ENCODING`); an LLM behind the service may count its own prompt differently."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletionResponse(BaseModel):
    """OpenAI's chat.completion object, plus the answer's citations, `found`, `warnings` and the standalone
    `question` searched for (the last user message, or that message rewritten with the earlier ones)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage = Field(default_factory=Usage)
    citations: list[CitationOut]
    found: bool
    warnings: list[str]
    question: str = ""


class JobProgress(BaseModel):
    done: int = Field(description="Steps done: one per file read, one per passage embedded.")
    total: int = Field(description="Steps known so far (grows as files are read and their passages counted).")


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: JobProgress
    documents: list[StoredDocumentOut] | None = Field(default=None, description="Once done: what was stored.")
    error: ErrorDetail | None = Field(default=None, description="Once failed: why.")


class JobResponse(BaseModel):
    job: JobOut
