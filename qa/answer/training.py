"""Training cases for the answer model, made from an evaluation set over a collection that holds its documents.

Each question is retrieved the way the service retrieves it (the query stage, hybrid retrieval, widened
passages) and becomes up to three cases:

- "asked": over the whole collection. Its sentences are labelled by whether they hold a gold answer (an
  `answers` span, else an `expect_all` string), which is what the sentence and span rankers learn from,
  and the refusal classifier learns that such evidence answers;
- "document removed": its gold documents taken out of the retrieved list, as if deleted: the question over
  the rest of the collection, which must be refused. An `unanswerable` item is this case as it is;
- "answer removed": the asked evidence without the sentences that hold a gold answer. The passages still
  speak of the question's subject but no longer state what is asked (the town is there, its mayor is not):
  the near miss a refusal must also catch.

Taking the gold documents out of a deep retrieved list stands in for deleting them: the remaining
passages keep their order, and the collection's other documents are exactly those a deletion would leave.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from qa.answer.evidence import Sentence, candidate_sentences, sentence_features
from qa.eval.dataset import EvalItem
from qa.eval.metrics import doc_matches
from qa.query import Query, analyze
from qa.text import fold
from qa.types import Passage

# how deep the retrieved list is read, so enough remains when the gold documents are taken out
DEPTH = 30
ASKED = "asked"
DOCUMENT_REMOVED = "document removed"
ANSWER_REMOVED = "answer removed"
UNANSWERABLE = "unanswerable"


@dataclass(slots=True)
class Case:
    """One question over one set of evidence passages, with its labels."""

    item: EvalItem
    query: Query
    passages: list[Passage]
    sentences: list[Sentence]
    rows: list[list[float]]
    # per sentence: it holds a gold answer
    labels: list[int]
    # the strings a short answer is scored against
    golds: tuple[str, ...]
    # "asked", "document removed", "answer removed" or "unanswerable" (see the module docstring)
    setting: str
    # cross-validation group: questions about one document never straddle folds
    group: str
    # the evaluation set the question came from (figures are reported per set)
    dataset: str = ""

    @property
    def withheld(self) -> bool:
        """The right reply is a refusal."""
        return self.setting != ASKED

    @property
    def answerable(self) -> bool:
        """The evidence holds an answer: some sentence holds a gold string."""
        return not self.withheld and any(self.labels)


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text)] if needle else []


def label_sentences(
    item: EvalItem, passages: Sequence[Passage], sentences: Sequence[Sentence], golds: Sequence[str]
) -> list[int]:
    """1 for a sentence that overlaps an occurrence of a gold string in its passage (in a gold document when
    the item names them), else 0. Matching is on folded text, so either script matches."""
    occurrences: dict[int, list[tuple[int, int]]] = {}
    for pi, p in enumerate(passages):
        if item.docs and not doc_matches(p.doc_id, p.source, item.docs):
            continue
        folded = fold(p.text)
        occurrences[pi] = [span for g in golds for span in _spans(folded, fold(g))]
    labels = []
    for s in sentences:
        spans = occurrences.get(s.passage, [])
        labels.append(int(any(a < s.end and b > s.start for a, b in spans)))
    return labels


def make_case(item: EvalItem, query: Query, passages: list[Passage], *, setting: str, dataset: str = "") -> Case:
    golds = item.answers or item.expect_all
    sentences = candidate_sentences(passages)
    rows = sentence_features(query, passages, sentences) if sentences else []
    labels = label_sentences(item, passages, sentences, golds) if setting == ASKED else [0] * len(sentences)
    group = item.docs[0] if item.docs else item.id
    return Case(item, query, passages, sentences, rows, labels, tuple(golds), setting, group, dataset)


def without_answers(case: Case) -> list[Passage]:
    """The case's passages with the sentences that hold a gold answer cut out: each passage becomes the
    stretches of its text between them (still exact slices of the stored document)."""
    cut: dict[int, list[tuple[int, int]]] = {}
    for s, label in zip(case.sentences, case.labels, strict=True):
        if label:
            cut.setdefault(s.passage, []).append((s.start, s.end))
    out: list[Passage] = []
    for pi, p in enumerate(case.passages):
        pos = 0
        for a, b in [*sorted(cut.get(pi, [])), (len(p.text), len(p.text))]:
            piece = p.text[pos:a]
            if piece.strip():
                out.append(replace(p, text=piece, start=p.start + pos, end=p.start + a))
            pos = max(pos, b)
    return out


def collect(
    retrieve: Callable[[Query, int], list[Passage]],
    documents: Callable[[Sequence[Passage]], list[Passage]],
    items: Iterable[tuple[str, EvalItem]],
    top_k: int,
) -> list[Case]:
    """Cases for `(dataset name, item)` pairs: `retrieve(query, depth)` is the service's retrieval,
    `documents(passages)` widens passages to the answerer's evidence (`qa.retrieve.widen` over the collection)."""
    cases: list[Case] = []
    for dataset, item in items:
        query = analyze(item.question)
        deep = retrieve(query, DEPTH)
        if item.unanswerable:
            cases.append(make_case(item, query, documents(deep[:top_k]), setting=UNANSWERABLE, dataset=dataset))
            continue
        asked = make_case(item, query, documents(deep[:top_k]), setting=ASKED, dataset=dataset)
        cases.append(asked)
        if item.docs:
            rest = [p for p in deep if not doc_matches(p.doc_id, p.source, item.docs)]
            cases.append(make_case(item, query, documents(rest[:top_k]), setting=DOCUMENT_REMOVED, dataset=dataset))
        if asked.answerable:
            cases.append(make_case(item, query, without_answers(asked), setting=ANSWER_REMOVED, dataset=dataset))
    return cases


__all__ = [
    "ANSWER_REMOVED",
    "ASKED",
    "DEPTH",
    "DOCUMENT_REMOVED",
    "UNANSWERABLE",
    "Case",
    "collect",
    "label_sentences",
    "make_case",
    "without_answers",
]
