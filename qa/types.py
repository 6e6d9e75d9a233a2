"""The typed records that flow between pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Document:
    """A cleaned document. `text` is the stored text every chunk and citation offset points into."""

    doc_id: str
    source: str
    title: str
    text: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a document: `text == document.text[start:end]`."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its document's metadata and a fused relevance score (higher is better)."""

    chunk_id: int
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    # per-retriever detail, e.g. {"dense": 0.83, "dense_rank": 1, "bm25": 7.1, "bm25_rank": 3}
    signals: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited span: `text == stored document text[start:end]`."""

    ref: int
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "score": round(self.score, 6)}


@dataclass(slots=True)
class Answer:
    answer: str
    found: bool
    citations: list[Citation]
    # how the answer was made: "extractive", "llm", or "extractive_fallback" when the LLM failed
    mode: str = "extractive"
    # e.g. an ungrounded number, or why the LLM was not used
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # the standalone question retrieval used: the asked one, or a follow-up rewritten with its conversation
    question: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "found": self.found,
            "citations": [c.as_dict() for c in self.citations],
            "mode": self.mode,
            "warnings": list(self.warnings),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "question": self.question,
        }
