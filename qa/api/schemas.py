"""Request bodies. Strict types: a wrongly typed field is a 4xx naming the field, never a coercion."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: StrictStr


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(min_length=1, description="The question, in any language.")
    collection: StrictStr | None = Field(default=None, description="Collection name (default: `default`).")
    top_k: StrictInt | None = Field(default=None, ge=1, le=50, description="Passages to answer from.")
    stream: StrictBool = Field(default=False, description="Reply as text/event-stream.")
    history: list[HistoryMessage] | None = Field(
        default=None,
        description="Earlier turns of the conversation, oldest first (at most QA_MAX_HISTORY_MESSAGES messages and "
        "QA_MAX_HISTORY_CHARS characters): a follow-up is rewritten into a standalone question before retrieval.",
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: StrictStr = Field(min_length=1)
    collection: StrictStr | None = None
    top_k: StrictInt | None = Field(default=None, ge=1, le=100)


class TextDocument(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: StrictStr = Field(min_length=1)
    title: StrictStr | None = Field(default=None, max_length=500)
    source: StrictStr | None = Field(default=None, max_length=2000)
    id: StrictStr | None = Field(default=None, min_length=1, max_length=200)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: StrictStr
    # OpenAI allows a string or a list of content parts ({"type": "text", "text": ...}).
    content: StrictStr | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: StrictBool = Field(default=False, description="End the stream with a chunk carrying `usage`.")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: StrictStr = Field(default="default", description="The collection to answer from.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
