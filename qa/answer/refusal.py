"""Whether the retrieved passages answer the question at all: what the fitted refusal classifier weighs.

Retrieval always returns something. The refusal classifier looks at the best candidate the sentence
ranker found and at how retrieval found its passages: how decisively the best sentence wins, how much of
the question (and of its specifics) it holds, whether it has the kind of content asked for and the
numbers the question states, and the embedder's cosine of the best passages. It is fitted on pairs made
honestly (`qa calibrate`): each question asked once over the collection, and once with its gold
documents taken out, so it learns what an unanswered question looks like in the same collection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from qa.answer.entities import SPAN_TYPES
from qa.answer.evidence import SENTENCE_FEATURES
from qa.answer.spans import ORIGINS, UNTYPED, SpanCandidate
from qa.query import Query
from qa.types import Passage

# the best sentence's own measurements that the classifier reads
_BEST_SENTENCE = (
    "kind",
    "heading",
    "overlap",
    "specific_overlap",
    "specific_exact",
    "specific_bigrams",
    "specific_chars",
    "bigram_recall",
    "lcs",
    "frame_left",
    "frame_right",
    "frame_gap",
    "numbers_in_sentence",
    "numbers_in_passage",
    "has_number",
    "has_date",
    "has_unit",
    "dense",
)
# the best value any candidate reaches
_ANY_SENTENCE = ("overlap", "specific_overlap", "specific_exact", "lcs", "overlap_context", "frame_gap")

REFUSAL_FEATURES: tuple[str, ...] = (
    "type_coverage",
    *(f"span_origin_{o}" for o in ORIGINS),
    *(f"span_type_{t}" for t in SPAN_TYPES),
    *(f"typed_{t}" for t in SPAN_TYPES),
    "best_score",
    "score_margin",
    "best_probability",
    "candidates",
    "best_span_score",
    "top_dense",
    "terms",
    "matched_weight",
    "matched_weight_per_term",
    *(f"best_{name}" for name in _BEST_SENTENCE),
    *(f"max_{name}" for name in _ANY_SENTENCE),
)


def refusal_features(
    query: Query,
    passages: Sequence[Passage],
    rows: Sequence[Sequence[float]],
    scores: np.ndarray,
    probabilities: np.ndarray,
    best_span: SpanCandidate | None,
    best_span_score: float,
    offered: set[str],
    kind_prior: Mapping[str, float],
) -> list[float]:
    """The row of `REFUSAL_FEATURES` for one question: `rows` are its sentences' `SENTENCE_FEATURES`,
    `scores` and `probabilities` the sentence ranker's output for them, `best_span` the span ranker's choice
    among the short-answer candidates of the best sentences (None without candidates), `offered` the types of
    the typed spans those sentences hold beyond what the question itself says, `query` the analyzed question,
    `kind_prior` how often answers to this kind of question have each span type.

    What kinds of span the best sentences offer tells whether they can answer at all: `type_coverage` is the
    share of answers to such questions whose type is among them (a who-question over sentences that name
    nobody is covered only by the answers that are no name)."""
    terms = len(query.terms)
    order = np.argsort(-scores)
    best = order[0]
    margin = float(scores[best] - scores[order[1]]) if len(order) > 1 else 10.0
    matrix = np.asarray(rows, dtype=np.float64)
    column = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    top_dense = max((p.signals.dense for p in passages if p.signals.dense is not None), default=0.0)
    chosen = best_span
    # how much of the question's rarity-weighted wording the passage holding most of it holds, as an amount rather
    # than a share: what a BM25 score measures, on a scale that does not depend on the store or the collection
    matched_weight = query.total_weight * float(matrix[:, column["overlap_context"]].max())
    values = {
        # fsum: `offered` is a set, whose order (and so a plain sum's last bits) changes with the hash seed
        "type_coverage": kind_prior.get(UNTYPED, 0.0) + math.fsum(kind_prior.get(t, 0.0) for t in offered),
        **{f"span_origin_{o}": float(chosen is not None and chosen.origin == o) for o in ORIGINS},
        **{f"span_type_{t}": float(chosen is not None and chosen.type == t) for t in SPAN_TYPES},
        **{f"typed_{t}": float(t in offered) for t in SPAN_TYPES},
        "best_score": float(scores[best]),
        "score_margin": margin,
        "best_probability": float(probabilities[best]),
        "candidates": math.log1p(len(order)),
        "best_span_score": best_span_score,
        "top_dense": top_dense,
        "terms": float(terms),
        "matched_weight": matched_weight,
        "matched_weight_per_term": matched_weight / max(terms, 1),
        **{f"best_{name}": float(matrix[best, column[name]]) for name in _BEST_SENTENCE},
        **{f"max_{name}": float(matrix[:, column[name]].max()) for name in _ANY_SENTENCE},
    }
    return [values[name] for name in REFUSAL_FEATURES]
