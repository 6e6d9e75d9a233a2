"""Per-question results, their summary, and the written report (Markdown, JSONL, JSON, PNG plots).

The runner (which sends each question through the same path as /v1/ask) builds one `QuestionResult`
per item with `score_result`, then calls `summarize`, `write_report` and `format_table`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qa.errors import InvalidInput
from qa.eval.dataset import EvalItem, load_dataset
from qa.eval.metrics import (
    contains_gold,
    doc_matches,
    exact_match,
    expect_all_pass,
    hit_at_k,
    max_f1,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    refusal_precision_recall,
    source_stem,
    strip_citation_markers,
)
from qa.types import Answer

__all__ = [
    "ConversationScores",
    "DocRef",
    "EvalItem",
    "EvalSummary",
    "LatencyStats",
    "QuestionResult",
    "RetrievalScores",
    "TagScores",
    "format_table",
    "is_correct",
    "load_dataset",
    "score_result",
    "summarize",
    "write_report",
]

# hit@k is reported as a curve for k = 1..MAX_K; MRR and nDCG at MAX_K
MAX_K = 10
# the retrieval variant the service itself answers from (`qa eval` always runs it; --compare adds others)
SERVICE_VARIANT = "fused"


class _HasDoc(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True, slots=True)
class DocRef:
    """The document a citation or a retrieved passage points into."""

    doc_id: str
    source: str = ""

    @classmethod
    def of(cls, obj: _HasDoc) -> DocRef:
        return cls(doc_id=obj.doc_id, source=obj.source)


@dataclass(slots=True)
class QuestionResult:
    """Everything measured for one question. Metric fields are None when they do not apply."""

    id: str
    question: str
    tags: list[str]
    answer: str
    found: bool
    # gold, copied from the dataset so results.jsonl stands on its own
    unanswerable: bool
    docs: list[str]
    citations: list[DocRef]
    # retrieval variant name (e.g. "hybrid", "dense", "bm25") → documents in ranked order
    retrieved: dict[str, list[DocRef]]
    expect_all_pass: bool | None
    em: float | None
    f1: float | None
    contains_gold: float | None
    citation_accuracy: float | None
    ungrounded_numbers: int
    timings_ms: dict[str, float]
    # the reply's short answer, scored like a span against `answers` (0 when there is none)
    short_answer: str = ""
    short_em: float | None = None
    short_f1: float | None = None
    # an answerable item's answer cites one of its documents (a refusal does not)
    cites_gold: bool | None = None
    mode: str = ""
    expect_all: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    # set when the question could not be run at all (the run goes on; the report lists it)
    error: str | None = None
    # conversations: earlier turns given, the dataset's standalone form, the question retrieval actually used
    history_turns: int = 0
    standalone: str = ""
    used_question: str = ""
    # the item's one verdict (see `is_correct`), and the same for its standalone form asked without history
    correct: bool | None = None
    standalone_correct: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionResult:
        """Rebuild from `to_dict` output (a results.jsonl line), e.g. to re-plot an old run."""
        values = dict(data)
        values["citations"] = [DocRef(**c) for c in values.get("citations", [])]
        values["retrieved"] = {
            variant: [DocRef(**d) for d in docs] for variant, docs in values.get("retrieved", {}).items()
        }
        return cls(**values)


def is_correct(item: EvalItem, answer: Answer | None) -> bool | None:
    """One verdict per item: an unanswerable item is right when refused; otherwise the answer must be found and
    hold every `expect_all` string, else some gold span of `answers`, else cite one of `docs`."""
    if answer is None:
        return False
    if item.unanswerable:
        return not answer.found
    if not answer.found:
        return False
    clean = strip_citation_markers(answer.answer)
    if item.expect_all:
        return expect_all_pass(clean, item.expect_all)
    if item.answers:
        return contains_gold(clean, item.answers) > 0
    if item.docs:
        wanted = set(item.docs)
        return any(doc_matches(c.doc_id, c.source, wanted) for c in answer.citations)
    return None


def score_result(
    item: EvalItem,
    answer: Answer | None,
    retrieved: Mapping[str, Sequence[_HasDoc]] | None = None,
    *,
    timings_ms: Mapping[str, float] | None = None,
    ungrounded_numbers: int | None = None,
    error: str | None = None,
    standalone_answer: Answer | None = None,
) -> QuestionResult:
    """Score one answered question against its dataset item.

    `answer` is None when the question failed to run (pass `error`). `retrieved` maps a retrieval
    variant to its ranked passages (anything with doc_id and source). `ungrounded_numbers` defaults
    to the numbers the shown answer states that its citations don't hold. `standalone_answer` answers the
    item's `standalone` form asked without history (conversations).
    """
    found = answer is not None and answer.found
    text = answer.answer if answer is not None else ""
    clean = strip_citation_markers(text)
    citations = [DocRef.of(c) for c in answer.citations] if answer is not None else []
    timings = dict(answer.timings_ms) if answer is not None else {}
    if timings_ms:
        timings.update(timings_ms)

    answerable = not item.unanswerable
    passed: bool | None = None
    if answerable and item.expect_all:
        passed = found and expect_all_pass(clean, item.expect_all)
    em = f1 = has_gold = short_em = short_f1 = None
    short = answer.short_answer.text if answer is not None and answer.short_answer is not None else ""
    if answerable and item.answers:
        short_em = exact_match(short, item.answers) if found and short else 0.0
        short_f1 = max_f1(short, item.answers) if found and short else 0.0
        # A refusal's wording must not earn partial character overlap with the gold span.
        em = exact_match(clean, item.answers) if found else 0.0
        f1 = max_f1(clean, item.answers) if found else 0.0
        has_gold = contains_gold(clean, item.answers) if found else 0.0
    cit_acc: float | None = None
    if answerable and item.docs and found:
        wanted = set(item.docs)
        # an answer with no citation at all cannot be checked by a reader: count it as wrong
        cit_acc = sum(doc_matches(c.doc_id, c.source, wanted) for c in citations) / len(citations) if citations else 0.0
    cites_gold: bool | None = None
    if answerable and item.docs:
        cites_gold = found and any(doc_matches(c.doc_id, c.source, set(item.docs)) for c in citations)
    if ungrounded_numbers is None:
        ungrounded_numbers = len(answer.ungrounded_numbers) if answer is not None else 0

    return QuestionResult(
        id=item.id,
        question=item.question,
        tags=list(item.tags),
        answer=text,
        found=found,
        unanswerable=item.unanswerable,
        docs=list(item.docs),
        citations=citations,
        retrieved={v: [DocRef.of(p) for p in ps] for v, ps in (retrieved or {}).items()},
        expect_all_pass=passed,
        em=em,
        f1=f1,
        contains_gold=has_gold,
        citation_accuracy=cit_acc,
        ungrounded_numbers=ungrounded_numbers,
        timings_ms={k: float(v) for k, v in timings.items()},
        mode=answer.mode if answer is not None else "",
        expect_all=list(item.expect_all),
        answers=list(item.answers),
        error=error,
        history_turns=len(item.history),
        standalone=item.standalone,
        used_question=(answer.question or item.question) if answer is not None else "",
        correct=is_correct(item, answer),
        standalone_correct=is_correct(item, standalone_answer) if item.standalone else None,
        short_answer=short,
        short_em=short_em,
        short_f1=short_f1,
        cites_gold=cites_gold,
    )


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    variant: str
    n: int
    hit_at: dict[int, float]
    mrr_at_10: float
    ndcg_at_10: float


@dataclass(frozen=True, slots=True)
class LatencyStats:
    stage: str
    n: int
    p50: float
    p95: float
    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class TagScores:
    tag: str
    n: int
    expect_all_pass_rate: float
    f1: float
    # answerable items: share answered; unanswerable items: share refused
    correct_found_rate: float
    # the service's retrieval over the tag's answerable items with gold documents (NaN without them)
    hit_at_1: float = math.nan
    hit_at_5: float = math.nan


@dataclass(frozen=True, slots=True)
class ConversationScores:
    """Accuracy (`is_correct`) by where an item sits in a conversation.

    single: items without history. followup: items with history whose `standalone` form differs from the
    question; `standalone_accuracy` is the same items asked as their standalone form, and `ratio` the share
    of it the follow-ups keep. standing: items with history that stand alone (a topic switch, a question that
    names its subject): they must be answered, and searched for, as asked (`standing_untouched`)."""

    n_single: int
    single_accuracy: float
    n_followup: int
    followup_accuracy: float
    standalone_accuracy: float
    ratio: float
    n_standing: int
    standing_accuracy: float
    standing_untouched: float


@dataclass(frozen=True, slots=True)
class EvalSummary:
    n_questions: int
    n_answerable: int
    n_unanswerable: int
    n_errors: int
    retrieval: dict[str, RetrievalScores]
    n_expect_all: int
    expect_all_pass_rate: float
    n_spans: int
    em: float
    f1: float
    contains_gold_rate: float
    short_em: float
    short_f1: float
    n_gold_docs: int
    cites_gold_rate: float
    n_cited: int
    citation_accuracy: float
    answered_rate: float
    refusal_precision: float
    refusal_recall: float
    n_found: int
    ungrounded_share: float
    latency: dict[str, LatencyStats]
    per_tag: dict[str, TagScores]
    # ids of questions that went wrong (`is_correct` false: a wrong or refused answer, an unanswerable one answered)
    # or errored
    failures: list[str]
    conversation: ConversationScores | None = None

    def to_dict(self) -> dict[str, Any]:
        return _nan_to_none(asdict(self))


def _nan_to_none(obj: Any) -> Any:
    """JSON has no NaN; undefined metrics become null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return obj


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _match_keys(refs: Sequence[DocRef], wanted: set[str]) -> list[str]:
    """Map each retrieved document to the dataset's name for it, so file stems and doc ids both count."""
    keys: list[str] = []
    for ref in refs:
        if ref.doc_id in wanted:
            keys.append(ref.doc_id)
        elif (stem := source_stem(ref.source)) and stem in wanted:
            keys.append(stem)
        else:
            keys.append(ref.doc_id)
    return keys


def _retrieval(results: Sequence[QuestionResult]) -> dict[str, RetrievalScores]:
    variants = sorted({v for r in results for v in r.retrieved})
    out: dict[str, RetrievalScores] = {}
    for variant in variants:
        rows = [r for r in results if not r.unanswerable and r.docs and variant in r.retrieved]
        hits: dict[int, list[float]] = {k: [] for k in range(1, MAX_K + 1)}
        mrr: list[float] = []
        ndcg: list[float] = []
        for r in rows:
            wanted = set(r.docs)
            keys = _match_keys(r.retrieved[variant], wanted)
            for k in hits:
                hits[k].append(hit_at_k(keys, wanted, k))
            mrr.append(mrr_at_k(keys, wanted, MAX_K))
            ndcg.append(ndcg_at_k(keys, wanted, MAX_K))
        out[variant] = RetrievalScores(
            variant=variant,
            n=len(rows),
            hit_at={k: _mean(v) for k, v in hits.items()},
            mrr_at_10=_mean(mrr),
            ndcg_at_10=_mean(ndcg),
        )
    return out


def _latency(results: Sequence[QuestionResult]) -> dict[str, LatencyStats]:
    by_stage: dict[str, list[float]] = {}
    for r in results:
        for stage, ms in r.timings_ms.items():
            by_stage.setdefault(stage, []).append(ms)
    return {
        stage: LatencyStats(
            stage=stage,
            n=len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            mean=_mean(values),
            max=max(values),
        )
        for stage, values in sorted(by_stage.items())
    }


def _tag_scores(tag: str, rows: Sequence[QuestionResult]) -> TagScores:
    passes = [float(r.expect_all_pass) for r in rows if r.expect_all_pass is not None]
    f1s = [r.f1 for r in rows if r.f1 is not None]
    correct = [float(r.found != r.unanswerable) for r in rows]
    retrieval = _retrieval(rows).get(SERVICE_VARIANT)
    return TagScores(
        tag=tag,
        n=len(rows),
        expect_all_pass_rate=_mean(passes),
        f1=_mean(f1s),
        correct_found_rate=_mean(correct),
        hit_at_1=retrieval.hit_at[1] if retrieval else math.nan,
        hit_at_5=retrieval.hit_at[5] if retrieval else math.nan,
    )


def _accuracy(values: Sequence[bool | None]) -> float:
    return _mean([float(v) for v in values if v is not None])


def _conversation(results: Sequence[QuestionResult]) -> ConversationScores | None:
    if not any(r.history_turns for r in results):
        return None
    single = [r for r in results if not r.history_turns]
    followups = [r for r in results if r.history_turns and r.standalone and r.standalone != r.question]
    standing = [r for r in results if r.history_turns and r not in followups]
    followup_accuracy = _accuracy([r.correct for r in followups])
    standalone_accuracy = _accuracy([r.standalone_correct for r in followups])
    return ConversationScores(
        n_single=len(single),
        single_accuracy=_accuracy([r.correct for r in single]),
        n_followup=len(followups),
        followup_accuracy=followup_accuracy,
        standalone_accuracy=standalone_accuracy,
        ratio=followup_accuracy / standalone_accuracy if standalone_accuracy else math.nan,
        n_standing=len(standing),
        standing_accuracy=_accuracy([r.correct for r in standing]),
        standing_untouched=_mean([float(r.used_question == r.question) for r in standing if not r.error]),
    )


def summarize(results: Sequence[QuestionResult]) -> EvalSummary:
    """Aggregate per-question results into the numbers the report shows."""
    if not results:
        raise InvalidInput("no results to summarize: the evaluation set ran no questions")
    answerable = [r for r in results if not r.unanswerable]
    passes = [float(r.expect_all_pass) for r in results if r.expect_all_pass is not None]
    spans = [r for r in results if r.f1 is not None]
    cited = [r.citation_accuracy for r in results if r.citation_accuracy is not None]
    gold_docs = [r for r in results if r.cites_gold is not None]
    found = [r for r in results if r.found]
    precision, recall = refusal_precision_recall([not r.found for r in results], [r.unanswerable for r in results])
    tags = sorted({t for r in results for t in r.tags})
    failures = [r.id for r in results if r.error is not None or r.correct is False]
    return EvalSummary(
        n_questions=len(results),
        n_answerable=len(answerable),
        n_unanswerable=len(results) - len(answerable),
        n_errors=sum(1 for r in results if r.error is not None),
        retrieval=_retrieval(results),
        n_expect_all=len(passes),
        expect_all_pass_rate=_mean(passes),
        n_spans=len(spans),
        em=_mean([r.em for r in spans if r.em is not None]),
        f1=_mean([r.f1 for r in spans if r.f1 is not None]),
        contains_gold_rate=_mean([r.contains_gold for r in spans if r.contains_gold is not None]),
        short_em=_mean([r.short_em for r in spans if r.short_em is not None]),
        short_f1=_mean([r.short_f1 for r in spans if r.short_f1 is not None]),
        n_gold_docs=len(gold_docs),
        cites_gold_rate=_mean([float(bool(r.cites_gold)) for r in gold_docs]),
        n_cited=len(cited),
        citation_accuracy=_mean(cited),
        answered_rate=_mean([float(r.found) for r in answerable]),
        refusal_precision=precision,
        refusal_recall=recall,
        n_found=len(found),
        ungrounded_share=_mean([float(r.ungrounded_numbers > 0) for r in found]),
        latency=_latency(results),
        per_tag={t: _tag_scores(t, [r for r in results if t in r.tags]) for t in tags},
        failures=failures,
        conversation=_conversation(results),
    )


# ---------------------------------------------------------------- formatting


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _answer_rows(s: EvalSummary) -> list[tuple[str, str, str]]:
    return [
        ("expect_all pass rate", _fmt(s.expect_all_pass_rate), str(s.n_expect_all)),
        ("exact match", _fmt(s.em), str(s.n_spans)),
        ("char F1", _fmt(s.f1), str(s.n_spans)),
        ("contains gold span", _fmt(s.contains_gold_rate), str(s.n_spans)),
        ("short answer exact match", _fmt(s.short_em), str(s.n_spans)),
        ("short answer char F1", _fmt(s.short_f1), str(s.n_spans)),
        ("cites a gold document", _fmt(s.cites_gold_rate), str(s.n_gold_docs)),
        ("citation accuracy", _fmt(s.citation_accuracy), str(s.n_cited)),
        ("answered (answerable)", _fmt(s.answered_rate), str(s.n_answerable)),
        ("refusal precision", _fmt(s.refusal_precision), str(s.n_questions)),
        ("refusal recall", _fmt(s.refusal_recall), str(s.n_unanswerable)),
        ("answers with ungrounded numbers", _fmt(s.ungrounded_share), str(s.n_found)),
    ]


def _retrieval_rows(s: EvalSummary) -> list[tuple[str, ...]]:
    return [
        (
            r.variant,
            str(r.n),
            _fmt(r.hit_at[1]),
            _fmt(r.hit_at[5]),
            _fmt(r.hit_at[10]),
            _fmt(r.mrr_at_10),
            _fmt(r.ndcg_at_10),
        )
        for r in s.retrieval.values()
    ]


_RETRIEVAL_HEAD = ("variant", "n", "hit@1", "hit@5", "hit@10", "MRR@10", "nDCG@10")
_CONVERSATION_HEAD = ("items", "n", "accuracy")


def _conversation_rows(c: ConversationScores) -> list[tuple[str, str, str]]:
    return [
        ("single-turn (no history)", str(c.n_single), _fmt(c.single_accuracy)),
        ("follow-ups, with their history", str(c.n_followup), _fmt(c.followup_accuracy)),
        ("  the same, written standalone", str(c.n_followup), _fmt(c.standalone_accuracy)),
        ("  follow-up / standalone", str(c.n_followup), _fmt(c.ratio)),
        ("after earlier turns, no standalone given", str(c.n_standing), _fmt(c.standing_accuracy)),
        ("  searched as asked (not rewritten)", str(c.n_standing), _fmt(c.standing_untouched)),
    ]


_LATENCY_HEAD = ("stage", "n", "p50 ms", "p95 ms", "mean ms", "max ms")


def _latency_rows(s: EvalSummary) -> list[tuple[str, ...]]:
    return [(x.stage, str(x.n), _ms(x.p50), _ms(x.p95), _ms(x.mean), _ms(x.max)) for x in s.latency.values()]


def _text_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=False)]
    line = "  ".join("-" * w for w in widths)

    def fmt_row(row: Sequence[str]) -> str:
        # first column is a label (left), the rest are numbers (right-aligned so digits line up)
        cells = zip(row, widths, strict=True)
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(cells))

    return "\n".join([fmt_row(head), line, *(fmt_row(r) for r in rows)])


def format_table(summary: EvalSummary) -> str:
    """A compact plain-text summary for the terminal (no colour codes, so it also reads well in logs)."""
    s = summary
    parts = [
        f"questions: {s.n_questions}  answerable: {s.n_answerable}  unanswerable: {s.n_unanswerable}"
        f"  errors: {s.n_errors}",
    ]
    if s.retrieval:
        parts += ["", "Retrieval", _text_table(_RETRIEVAL_HEAD, _retrieval_rows(s))]
    parts += ["", "Answers", _text_table(("metric", "value", "n"), _answer_rows(s))]
    if s.conversation is not None:
        parts += ["", "Conversations", _text_table(_CONVERSATION_HEAD, _conversation_rows(s.conversation))]
    if s.latency:
        parts += ["", "Latency", _text_table(_LATENCY_HEAD, _latency_rows(s))]
    if s.failures:
        shown = ", ".join(s.failures[:15]) + (" …" if len(s.failures) > 15 else "")
        parts += ["", f"failed ({len(s.failures)}): {shown}"]
    return "\n".join(parts)


def _expected(r: QuestionResult) -> str:
    """What the item asked of the answer, as `is_correct` reads it."""
    if r.unanswerable:
        return "(unanswerable)"
    if r.expect_all:
        return ", ".join(r.expect_all)
    if r.answers:
        return "one of: " + " | ".join(r.answers)
    return "cites: " + ", ".join(r.docs)


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _conversation_markdown(c: ConversationScores | None) -> list[str]:
    if c is None:
        return []
    return [
        "## Conversations",
        "",
        "Accuracy: refused when unanswerable; else found and holding every `expect_all` string (else a gold span, "
        "else citing a gold document). Follow-ups are asked with their `history`, and again as their `standalone` "
        "form without history; items that stand alone after earlier turns must be searched for as asked.",
        "",
        _md_table(_CONVERSATION_HEAD, _conversation_rows(c)),
        "",
    ]


def _markdown(summary: EvalSummary, results: Sequence[QuestionResult], plots: Sequence[str]) -> str:
    s = summary
    out = [
        "# Evaluation report",
        "",
        f"Questions: {s.n_questions} (answerable {s.n_answerable}, unanswerable {s.n_unanswerable}, "
        f"errors {s.n_errors}).",
        "",
        "## Retrieval",
        "",
        "Document-level, binary relevance against each item's `docs`; a document reached through several "
        "passages counts once.",
        "",
        _md_table(_RETRIEVAL_HEAD, _retrieval_rows(s)) if s.retrieval else "_No retrieval runs recorded._",
        "",
        "## Answers",
        "",
        "EM and F1 are character-level on normalized text (CMRC style) against the gold `answers`; "
        "`[n]` markers are removed first.",
        "",
        _md_table(("metric", "value", "n"), _answer_rows(s)),
        "",
        *_conversation_markdown(s.conversation),
        "## By tag",
        "",
        _md_table(
            ("tag", "n", "hit@1", "hit@5", "expect_all pass", "char F1", "answered / refused correctly"),
            [
                (
                    t.tag,
                    t.n,
                    _fmt(t.hit_at_1),
                    _fmt(t.hit_at_5),
                    _fmt(t.expect_all_pass_rate),
                    _fmt(t.f1),
                    _fmt(t.correct_found_rate),
                )
                for t in s.per_tag.values()
            ],
        )
        if s.per_tag
        else "_No tags._",
        "",
        "## Latency",
        "",
        _md_table(_LATENCY_HEAD, _latency_rows(s)) if s.latency else "_No timings recorded._",
        "",
    ]
    if plots:
        out += ["## Plots", "", *(f"![{p}]({p})" for p in plots), ""]
    by_id = {r.id: r for r in results}
    if s.failures:
        out += ["## Failed questions", ""]
        rows = []
        for rid in s.failures:
            r = by_id[rid]
            expected = _expected(r)
            got = r.error or r.answer
            rows.append((rid, r.question, expected, got[:160] + ("…" if len(got) > 160 else "")))
        out += [_md_table(("id", "question", "expected", "got"), rows), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- plots


def _save(fig: Any, path: Path) -> None:
    # An explicit Agg canvas: no pyplot, so no global figure registry or backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=100)


def _plot_hit_curves(summary: EvalSummary, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    for r in summary.retrieval.values():
        ks = sorted(r.hit_at)
        ax.plot(ks, [r.hit_at[k] for k in ks], marker="o", label=f"{r.variant} (n={r.n})")
    if not summary.retrieval:
        ax.text(0.5, 0.5, "no retrieval runs recorded", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="lower right")
    ax.set_xlabel("k (distinct documents)")
    ax.set_ylabel("hit@k")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(range(1, MAX_K + 1))
    ax.grid(alpha=0.3)
    ax.set_title("Retrieval hit@k by variant")
    _save(fig, path)


def _plot_latency(results: Sequence[QuestionResult], path: Path) -> None:
    from matplotlib.figure import Figure

    by_stage: dict[str, list[float]] = {}
    for r in results:
        for stage, ms in r.timings_ms.items():
            by_stage.setdefault(stage, []).append(ms)
    stages = sorted(by_stage)
    fig = Figure(figsize=(6, 2.4 * max(1, len(stages))), layout="constrained")
    if not stages:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no timings recorded", ha="center", va="center", transform=ax.transAxes)
    for i, stage in enumerate(stages, start=1):
        ax = fig.add_subplot(len(stages), 1, i)
        values = by_stage[stage]
        ax.hist(values, bins=min(30, max(5, len(values) // 2)))
        ax.axvline(percentile(values, 50), color="black", linestyle="--", linewidth=1, label="p50")
        ax.axvline(percentile(values, 95), color="red", linestyle=":", linewidth=1, label="p95")
        ax.set_title(f"{stage} (ms)")
        ax.set_ylabel("questions")
        ax.legend(loc="upper right")
    _save(fig, path)


def _plot_f1(results: Sequence[QuestionResult], path: Path) -> None:
    from matplotlib.figure import Figure

    f1s = [r.f1 for r in results if r.f1 is not None]
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    if f1s:
        ax.hist(f1s, bins=[i / 10 for i in range(11)], edgecolor="black")
    else:
        ax.text(0.5, 0.5, "no gold answer spans", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_xlabel("char F1 against gold answers")
    ax.set_ylabel("questions")
    ax.set_title(f"Answer F1 distribution (n={len(f1s)})")
    _save(fig, path)


PLOT_FILES = ("hit_at_k.png", "latency.png", "f1.png")


def report_folder(out_dir: Path) -> Path:
    """`out_dir`, created if needed: called before an evaluation runs too, so a path that cannot be the report's
    folder (an existing file, a read-only place) is refused before the questions are asked, not after."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create report folder {out_dir}: {exc.strerror or exc}") from exc
    return out_dir


def write_report(summary: EvalSummary, results: Sequence[QuestionResult], out_dir: Path) -> None:
    """Write report.md, summary.json, results.jsonl and the PNG plots into `out_dir` (created if needed)."""
    report_folder(out_dir)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(_nan_to_none(r.to_dict()), ensure_ascii=False) + "\n")
    (out_dir / "summary.json").write_text(
        json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    hit, latency, f1 = (out_dir / name for name in PLOT_FILES)
    _plot_hit_curves(summary, hit)
    _plot_latency(results, latency)
    _plot_f1(results, f1)
    (out_dir / "report.md").write_text(_markdown(summary, results, PLOT_FILES), encoding="utf-8")
