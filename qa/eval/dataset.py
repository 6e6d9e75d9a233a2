"""Loading and validating evaluation sets: one JSON object a line, `{"id", "question", "expect_all"?, "answers"?,
"docs"?, "unanswerable"?, "history"?}` (`expect_all`: strings the answer must all hold; `answers`: gold spans, any
one counts; `docs`: document ids or file stems a correct citation points into).

A multi-turn item carries `history`, the earlier turns as `/v1/ask` takes them, and may carry `standalone`: the
same question written out so it stands alone, which the evaluation also asks (without history) to measure
how much of the standalone accuracy the follow-up keeps. An item with history and no `standalone` (or the
question itself) stands alone already: it must be answered as asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, model_validator

from qa.conversation import Turn
from qa.errors import InvalidInput

# Long files with a systematic mistake would otherwise produce a wall of identical messages.
_MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One question of an evaluation set. `line` is its 1-based line in the file, for messages."""

    id: str
    question: str
    expect_all: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()
    unanswerable: bool = False
    tags: tuple[str, ...] = ()
    # earlier turns of a conversation (oldest first), and the question written out standalone ("" if not given)
    history: tuple[Turn, ...] = ()
    standalone: str = ""
    line: int = 0
    # fields the contract does not name are kept, so datasets can carry notes without breaking loading
    extra: dict[str, Any] = field(default_factory=dict)


class _TurnModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: StrictStr


class _ItemModel(BaseModel):
    # strict: a number where a string is expected is a dataset mistake worth reporting, not coercing
    model_config = ConfigDict(extra="allow", strict=True)

    id: StrictStr = Field(min_length=1)
    question: StrictStr = Field(min_length=1)
    expect_all: list[StrictStr] = Field(default_factory=list)
    answers: list[StrictStr] = Field(default_factory=list)
    docs: list[StrictStr] = Field(default_factory=list)
    unanswerable: StrictBool = False
    tags: list[StrictStr] = Field(default_factory=list)
    history: list[_TurnModel] = Field(default_factory=list)
    standalone: StrictStr | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _ItemModel:
        if not self.question.strip():
            raise ValueError("question is blank")
        if not any(ch.isalnum() for ch in self.question):
            raise ValueError("question has no letter or digit in it (the service refuses such a question)")
        for name in ("expect_all", "answers", "docs", "tags"):
            if any(not s.strip() for s in getattr(self, name)):
                raise ValueError(f"{name} holds an empty string")
        if self.unanswerable and (self.expect_all or self.answers):
            raise ValueError("an unanswerable item cannot have expect_all or answers")
        if not self.unanswerable and not (self.expect_all or self.answers or self.docs):
            raise ValueError("nothing to score: give expect_all, answers or docs, or set unanswerable to true")
        if self.standalone is not None and not self.standalone.strip():
            raise ValueError("standalone is blank")
        if self.standalone is not None and not self.history:
            raise ValueError("standalone is only meaningful with a history")
        if any(not turn.content.strip() for turn in self.history):
            raise ValueError("history holds an empty message")
        return self


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_dataset(path: Path) -> list[EvalItem]:
    """Read and validate a JSONL evaluation set; all problems are reported at once with line numbers."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInput(f"evaluation set not found: {path}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read evaluation set {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc

    items: list[EvalItem] = []
    errors: list[str] = []
    first_line_of_id: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"line {lineno}: expected a JSON object, got {type(obj).__name__}")
            continue
        try:
            model = _ItemModel.model_validate(obj)
        except ValidationError as exc:
            errors.append(f"line {lineno}: {_describe(exc)}")
            continue
        if model.id in first_line_of_id:
            errors.append(f"line {lineno}: duplicate id {model.id!r} (first used on line {first_line_of_id[model.id]})")
            continue
        first_line_of_id[model.id] = lineno
        items.append(
            EvalItem(
                id=model.id,
                question=model.question,
                expect_all=tuple(model.expect_all),
                answers=tuple(model.answers),
                docs=tuple(model.docs),
                unanswerable=model.unanswerable,
                tags=tuple(model.tags),
                history=tuple(Turn(t.role, t.content) for t in model.history),
                standalone=model.standalone or "",
                line=lineno,
                extra=dict(model.model_extra or {}),
            )
        )

    if errors:
        shown = errors[:_MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        tail = f"\n… and {more} more" if more else ""
        raise InvalidInput(f"{path}: {len(errors)} invalid line(s):\n" + "\n".join(shown) + tail)
    if not items:
        raise InvalidInput(f"{path} holds no questions: write one JSON object per line")
    return items
