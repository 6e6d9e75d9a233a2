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
class Signals:
    """How retrieval found a passage: each retriever's score and 1-based rank, None where it did not."""

    dense: float | None = None
    dense_rank: int | None = None
    bm25: float | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk inside a widened passage: its span in the document and its 0-based rank."""

    start: int
    end: int
    rank: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk (or a window of its document around retrieved chunks, see `qa.retrieve.widen`)
    with its document's metadata and a fused relevance score (higher is better)."""

    chunk_id: int
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    signals: Signals = field(default_factory=Signals)
    # for a widened passage, the retrieved chunks it holds (document offsets)
    hits: tuple[Hit, ...] = ()

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

    def cite(self, ref: int, a: int, b: int) -> Citation:
        """Citation `ref` of this passage's text[a:b], with offsets into the stored document."""
        return Citation(
            ref=ref,
            doc_id=self.doc_id,
            source=self.source,
            title=self.title,
            text=self.text[a:b],
            start=self.start + a,
            end=self.start + b,
            score=float(self.score),
        )


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


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The minimal span that answers a factoid question: `text == stored document text[start:end]`, inside
    the span of citation `ref`."""

    text: str
    ref: int
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(slots=True)
class Answer:
    answer: str
    found: bool
    citations: list[Citation]
    short_answer: ShortAnswer | None = None
    # the standalone question retrieval used: the asked one, or a follow-up rewritten with its conversation
    question: str = ""
    # how the answer was made: "extractive", "llm", or "extractive_fallback" when the LLM failed
    mode: str = "extractive"
    # warning codes for clients (e.g. "llm_unavailable"); details go to the server log
    warnings: list[str] = field(default_factory=list)
    # numbers the answer states that no citation holds (always empty for a shown answer: such an LLM answer
    # is replaced by the extractive one)
    ungrounded_numbers: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {
            "answer": self.answer,
            "found": self.found,
            "citations": [c.as_dict() for c in self.citations],
            "short_answer": self.short_answer.as_dict() if self.short_answer else None,
            "mode": self.mode,
            "warnings": list(self.warnings),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "question": self.question,
        }
        return body
