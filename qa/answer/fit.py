"""Fitting the answer model on training cases, and measuring it on cases it was not fitted on.

Used by `qa calibrate`, never while serving. Three LightGBM models are fitted in order, each on what the
previous ones would give it at serving time:

1. the sentence ranker (LambdaMART over each question's candidate sentences, label: holds a gold answer);
2. the span ranker over the short-answer candidates of the two best sentences (graded by character F1
   with the gold answer), where "best" is the sentence ranker's out-of-fold ranking;
3. the refusal classifier over one row per case (`qa.answer.refusal`), from out-of-fold sentence and span
   scores, with cases whose evidence holds the answer as positives and cases whose gold documents were
   taken out as negatives. Its threshold is the highest that refuses at most a target share of the
   answerable cases (`max_false_refusals`, a product decision) on out-of-fold probabilities: what is left
   to the data is how many unanswerable questions that threshold then refuses.

Out-of-fold scores come from an inner cross-validation over question groups, so no stage learns from
scores its predecessor made on the very questions it saw in training. The model hyperparameters are fixed
(chosen once by cross-validation on cmrc2018-trial, see the README): a calibration refits weights, not them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from qa.answer.entities import SPAN_TYPES, typed_spans
from qa.answer.evidence import SENTENCE_FEATURES
from qa.answer.extractive import NO_SPAN_SCORE, SPAN_SENTENCES, ExtractiveAnswerer, softmax
from qa.answer.model import AnswerModel, Ranker
from qa.answer.refusal import REFUSAL_FEATURES, refusal_features
from qa.answer.spans import (
    SPAN_FEATURES,
    UNTYPED,
    SpanCandidate,
    TypePrior,
    offered_types,
    span_candidates,
    span_features,
)
from qa.answer.training import ANSWER_REMOVED, Case
from qa.errors import InvalidInput
from qa.eval.metrics import char_f1, contains_gold, doc_matches, exact_match, expect_all_pass, strip_citation_markers
from qa.text import fold

# one thread: LightGBM's OpenMP threads spin-wait, and on a busy machine two were measured 20x slower than one
_COMMON: dict[str, Any] = {"verbose": -1, "random_state": 0, "deterministic": True, "force_row_wise": True, "n_jobs": 1}
SENTENCE_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
}
SPAN_PARAMS: dict[str, Any] = {**SENTENCE_PARAMS, "learning_rate": 0.05}
REFUSAL_PARAMS: dict[str, Any] = {"objective": "binary", "n_estimators": 200, "learning_rate": 0.05, "num_leaves": 7}
# The rankers' verdicts on the best answer found: the refusal's probability that the passages answer may only rise
# with them. Left free, it learned to read a flat sentence distribution as a sign of an answer: for "房寺镇的镇长是谁?"
# over the sample corpus (no mayor named), the best sentence's probability of 0.10 alone added 1.15 to the log-odds of
# answering. Constrained, cmrc2018-trial (5 folds over passages, LightGBM seeds 0 / 1) refuses more of the questions
# whose gold documents were deleted (0.904 / 0.905 -> 0.910 / 0.909) and whose answering sentences were cut out
# (0.225 / 0.230 -> 0.236 / 0.247), answerable ones 0.021 / 0.019 -> 0.022 / 0.020; constraining the overlap and
# cosine features as well refused 0.028 of the answerable questions (bench/RESULTS.md)
RISING: tuple[str, ...] = ("best_score", "score_margin", "best_probability", "best_span_score")
# span F1 in [0, 1] becomes a relevance grade 0..SPAN_GRADES for LambdaMART
SPAN_GRADES = 10

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def fold_of(cases: Sequence[Case], folds: int) -> dict[str, int]:
    """Question groups dealt into folds in a fixed order, round robin: the groups with answerable questions
    first (sorted by name), then the rest, so every fold gets its share of both. Reproducible."""
    answerable = sorted({c.group for c in cases if c.answerable})
    rest = sorted({c.group for c in cases} - set(answerable))
    return {g: i % folds for i, g in enumerate(answerable)} | {g: i % folds for i, g in enumerate(rest)}


def _lgb_ranker(params: dict[str, Any], rows: np.ndarray, labels: np.ndarray, sizes: list[int]) -> str:
    import lightgbm

    model = lightgbm.LGBMRanker(**params, **_COMMON)
    model.fit(rows, labels, group=sizes, categorical_feature=[0])
    return str(model.booster_.model_to_string())


def _lgb_classifier(rows: np.ndarray, labels: np.ndarray) -> str:
    import lightgbm

    rising = [int(name in RISING) for name in REFUSAL_FEATURES]
    model = lightgbm.LGBMClassifier(**REFUSAL_PARAMS, monotone_constraints=rising, **_COMMON)
    model.fit(rows, labels)
    return str(model.booster_.model_to_string())


def fit_sentence_ranker(cases: Sequence[Case]) -> Ranker:
    usable = [c for c in cases if c.answerable]
    rows = np.asarray([r for c in usable for r in c.rows], dtype=np.float64)
    labels = np.asarray([y for c in usable for y in c.labels])
    return Ranker(SENTENCE_FEATURES, _lgb_ranker(SENTENCE_PARAMS, rows, labels, [len(c.rows) for c in usable]))


@dataclass(slots=True)
class _SpanSet:
    candidates: list[SpanCandidate]
    rows: list[list[float]]
    f1: list[float]
    offered: set[str]


def fit_type_prior(cases: Sequence[Case]) -> dict[str, dict[str, float]]:
    """For each kind of question, the share of its gold answers that are (or hold) a typed span of each type,
    or no typed span at all (`UNTYPED`): counted in the sentences that hold the answer, add-one smoothed."""
    counts: dict[str, dict[str, float]] = {}
    for case in cases:
        if not case.answerable:
            continue
        types: set[str] = set()
        for s, label in zip(case.sentences, case.labels, strict=True):
            if not label:
                continue
            where = [(m.start(), m.end()) for g in case.golds for m in re.finditer(re.escape(fold(g)), s.folded)]
            types |= {t.type for t in typed_spans(s.folded) if any(t.start < b and a < t.end for a, b in where)}
        per_kind = counts.setdefault(case.query.kind, {})
        for t in types or {UNTYPED}:
            per_kind[t] = per_kind.get(t, 0.0) + 1.0
    prior: dict[str, dict[str, float]] = {}
    for kind, per_kind in counts.items():
        total = sum(per_kind.values()) + len(SPAN_TYPES) + 1
        prior[kind] = {t: (per_kind.get(t, 0.0) + 1.0) / total for t in (*SPAN_TYPES, UNTYPED)}
    return prior


def span_set(case: Case, scores: np.ndarray, prior: TypePrior) -> _SpanSet:
    """The short-answer candidates of a case's best sentences under `scores`, with their F1 against gold."""
    order = np.argsort(-scores, kind="stable")[:SPAN_SENTENCES]
    top = [case.sentences[int(i)] for i in order]
    folded = [s.folded for s in top]
    candidates = span_candidates(case.query, folded)
    rows = (
        span_features(case.query, folded, candidates, [float(scores[int(i)]) for i in order], prior)
        if candidates
        else []
    )
    f1 = [max((char_f1(top[c.sentence].text[c.start : c.end], g) for g in case.golds), default=0.0) for c in candidates]
    return _SpanSet(candidates, rows, f1, offered_types(case.query, folded, candidates))


def fit_span_ranker(sets: Sequence[_SpanSet]) -> Ranker:
    usable = [s for s in sets if s.rows and max(s.f1) > 0]
    rows = np.asarray([r for s in usable for r in s.rows], dtype=np.float64)
    grades = np.floor(np.asarray([f for s in usable for f in s.f1]) * SPAN_GRADES + 1e-9).astype(int)
    return Ranker(SPAN_FEATURES, _lgb_ranker(SPAN_PARAMS, rows, grades, [len(s.rows) for s in usable]))


def fit_temperature(cases: Sequence[Case], scores: Sequence[np.ndarray]) -> float:
    """The softmax temperature that makes the sentence probabilities calibrated: the maximum-likelihood
    T for "some positive sentence" over answerable cases (a one-dimensional search on a log grid)."""
    pairs = [(s, np.asarray(c.labels, dtype=bool)) for c, s in zip(cases, scores, strict=True) if c.answerable]
    best_t, best_ll = 1.0, -np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 121)):
        ll = sum(float(np.log(max(softmax(s, t)[y].sum(), 1e-12))) for s, y in pairs)
        if ll > best_ll:
            best_t, best_ll = float(t), ll
    return best_t


def _refusal_row(
    case: Case, scores: np.ndarray, temperature: float, spans: _SpanSet, span_scores: np.ndarray, prior: TypePrior
) -> list[float]:
    best = int(np.argmax(span_scores)) if len(span_scores) else None
    return refusal_features(
        case.query,
        case.passages,
        case.rows,
        scores,
        softmax(scores, temperature),
        spans.candidates[best] if best is not None else None,
        float(span_scores[best]) if best is not None else NO_SPAN_SCORE,
        spans.offered,
        prior.get(case.query.kind, {}),
    )


def refusal_threshold(probabilities: np.ndarray, labels: np.ndarray, max_false_refusals: float) -> float:
    """The highest threshold that refuses at most `max_false_refusals` of the answerable cases (labels 1):
    every unanswerable case below it is refused, and no more answerable ones than the target allows."""
    answerable = np.sort(probabilities[labels == 1])
    if len(answerable) == 0:
        return 0.5
    allowed = int(np.floor(max_false_refusals * len(answerable)))
    if allowed >= len(answerable):
        return float(answerable[-1])
    # refuse below the (allowed+1)-th lowest answerable probability; ties stay answered
    return float(answerable[allowed])


def _split(cases: Sequence[Case], folds: int) -> Iterator[tuple[list[int], list[int]]]:
    assignment = fold_of(cases, folds)
    for f in range(folds):
        test = [i for i, c in enumerate(cases) if assignment[c.group] == f]
        train = [i for i, c in enumerate(cases) if assignment[c.group] != f]
        yield train, test


# fewer answerable questions than this leave each inner fold too little to rank sentences with
MIN_ANSWERABLE = 20
INNER_FOLDS = 3


def check_enough(cases: Sequence[Case]) -> int:
    """Raise when `cases` are too few to fit on; else the number of inner folds to use (at most
    `INNER_FOLDS`, at most one a document)."""
    answerable = sum(c.answerable for c in cases)
    refusals = sum(c.withheld for c in cases)
    if answerable < MIN_ANSWERABLE or refusals == 0:
        raise InvalidInput(
            f"too little to fit an answer model on: {answerable} questions whose answer the collection holds "
            f"(at least {MIN_ANSWERABLE} are needed) and {refusals} that must be refused (documents deleted or "
            "unanswerable items; at least one); give larger datasets, with `docs` for each answerable question"
        )
    groups = {c.group for c in cases if c.answerable}
    if len(groups) < 2:
        raise InvalidInput(
            f"the answerable questions are about {len(groups)} document(s): fitting needs questions about at "
            "least 2, to score each stage on questions its predecessor was not fitted on"
        )
    return min(INNER_FOLDS, len(groups))


def fit_model(
    cases: Sequence[Case],
    *,
    embedding_model: str,
    coverage: float,
    max_false_refusals: float = 0.03,
    meta: dict[str, object] | None = None,
    progress: Progress = _quiet,
) -> AnswerModel:
    """Fit the three models on `cases` (see the module docstring). "answer removed" cases are measured, not
    fitted on: as refusal negatives they lowered the share of deleted-document questions refused on
    cmrc2018-trial (5 folds: 0.92 → 0.86 at the same false refusals) and did not teach the near misses."""
    cases = [c for c in cases if c.setting != ANSWER_REMOVED]
    inner_folds = check_enough(cases)
    scored = [i for i, c in enumerate(cases) if c.rows]
    prior = fit_type_prior(cases)
    oof_sentence: dict[int, np.ndarray] = {}
    splits = list(_split([cases[i] for i in scored], inner_folds))
    for f, (train, test) in enumerate(splits, start=1):
        progress(f"sentence ranker, inner fold {f}/{inner_folds}")
        ranker = fit_sentence_ranker([cases[scored[i]] for i in train])
        for i in test:
            oof_sentence[scored[i]] = ranker.score(cases[scored[i]].rows)
    sets = {i: span_set(cases[i], oof_sentence[i], prior) for i in scored}
    oof_span: dict[int, np.ndarray] = {}
    for f, (train, test) in enumerate(splits, start=1):
        progress(f"span ranker, inner fold {f}/{inner_folds}")
        span_ranker = fit_span_ranker([sets[scored[i]] for i in train if cases[scored[i]].answerable])
        for i in test:
            s = sets[scored[i]]
            oof_span[scored[i]] = span_ranker.score(s.rows)
    temperature = fit_temperature([cases[i] for i in scored], [oof_sentence[i] for i in scored])
    refusal_rows = np.asarray(
        [_refusal_row(cases[i], oof_sentence[i], temperature, sets[i], oof_span[i], prior) for i in scored],
        dtype=np.float64,
    )
    refusal_labels = np.asarray([int(cases[i].answerable) for i in scored])
    oof_refusal = np.zeros(len(scored))
    for train, test in _split([cases[i] for i in scored], inner_folds):
        booster = Ranker(REFUSAL_FEATURES, _lgb_classifier(refusal_rows[train], refusal_labels[train]))
        oof_refusal[test] = booster.score(refusal_rows[test].tolist())
    threshold = refusal_threshold(oof_refusal, refusal_labels, max_false_refusals)
    progress("final models")
    sentence = fit_sentence_ranker([cases[i] for i in scored])
    span = fit_span_ranker([sets[i] for i in scored if cases[i].answerable])
    refusal = Ranker(REFUSAL_FEATURES, _lgb_classifier(refusal_rows, refusal_labels))
    return AnswerModel(
        embedding_model=embedding_model,
        sentence=sentence,
        span=span,
        refusal=refusal,
        temperature=temperature,
        threshold=threshold,
        coverage=coverage,
        type_prior=prior,
        meta=dict(meta or {}),
    )


@dataclass(slots=True)
class Figures:
    """Answer quality on a set of cases (each metric over the cases it applies to)."""

    answerable: int = 0
    contains_gold: float = 0.0
    cited_gold: float = 0.0
    refused_answerable: float = 0.0
    short_f1: float = 0.0
    short_em: float = 0.0
    # the gold documents deleted (or an unanswerable item)
    withheld: int = 0
    refused_withheld: float = 0.0
    # the sentences holding the answer cut out of the evidence
    answer_removed: int = 0
    refused_answer_removed: float = 0.0
    ungrounded: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def evaluate(model: AnswerModel, cases: Sequence[Case]) -> Figures:
    """Answer every case with the extractive answerer under `model` (the service's code path) and score it."""
    answerer = ExtractiveAnswerer(model)
    sums = {"contains": 0.0, "cited": 0.0, "refused": 0.0, "f1": 0.0, "em": 0.0, "wrefused": 0.0, "arefused": 0.0}
    answerable = withheld = removed = ungrounded = 0
    for case in cases:
        answer = answerer.answer(case.query, case.passages)
        ungrounded += bool(answer.ungrounded_numbers)
        if case.setting == ANSWER_REMOVED:
            removed += 1
            sums["arefused"] += not answer.found
            continue
        if case.withheld:
            withheld += 1
            sums["wrefused"] += not answer.found
            continue
        answerable += 1
        item = case.item
        text = strip_citation_markers(answer.answer) if answer.found else ""
        if item.answers:
            sums["contains"] += contains_gold(text, item.answers)
        else:
            sums["contains"] += float(bool(text) and expect_all_pass(text, item.expect_all))
        sums["cited"] += float(
            answer.found and any(doc_matches(c.doc_id, c.source, item.docs) for c in answer.citations)
        )
        sums["refused"] += not answer.found
        short = answer.short_answer.text if answer.short_answer else ""
        sums["f1"] += max((char_f1(short, g) for g in case.golds), default=0.0) if short else 0.0
        sums["em"] += exact_match(short, case.golds) if short else 0.0
    a = max(answerable, 1)
    return Figures(
        answerable=answerable,
        contains_gold=sums["contains"] / a,
        cited_gold=sums["cited"] / a,
        refused_answerable=sums["refused"] / a,
        short_f1=sums["f1"] / a,
        short_em=sums["em"] / a,
        withheld=withheld,
        refused_withheld=sums["wrefused"] / max(withheld, 1),
        answer_removed=removed,
        refused_answer_removed=sums["arefused"] / max(removed, 1),
        ungrounded=ungrounded,
    )


def cross_validate(
    cases: Sequence[Case],
    *,
    folds: int,
    embedding_model: str,
    coverage: float,
    max_false_refusals: float = 0.03,
    progress: Progress = _quiet,
) -> list[dict[str, Figures]]:
    """Per outer fold: fit on the other folds' question groups, evaluate on this fold's, per dataset."""
    out: list[dict[str, Figures]] = []
    for f, (train, test) in enumerate(_split(cases, folds), start=1):
        progress(f"fold {f}/{folds}: fitting on {len(train)} cases")

        def said(message: str, fold: int = f) -> None:
            progress(f"fold {fold}/{folds}: {message}")

        model = fit_model(
            [cases[i] for i in train],
            embedding_model=embedding_model,
            coverage=coverage,
            max_false_refusals=max_false_refusals,
            progress=said,
        )
        held_out = [cases[i] for i in test]
        datasets = sorted({c.dataset for c in held_out})
        out.append({d: evaluate(model, [c for c in held_out if c.dataset == d]) for d in datasets})
    return out


def pooled(figures: Sequence[Figures]) -> Figures:
    """Fold figures combined, each weighted by how many cases it was measured on."""
    a = sum(f.answerable for f in figures) or 1
    w = sum(f.withheld for f in figures) or 1
    r = sum(f.answer_removed for f in figures) or 1

    def mean(name: str) -> float:
        return sum(getattr(f, name) * f.answerable for f in figures) / a

    return Figures(
        answerable=sum(f.answerable for f in figures),
        contains_gold=mean("contains_gold"),
        cited_gold=mean("cited_gold"),
        refused_answerable=mean("refused_answerable"),
        short_f1=mean("short_f1"),
        short_em=mean("short_em"),
        withheld=sum(f.withheld for f in figures),
        refused_withheld=sum(f.refused_withheld * f.withheld for f in figures) / w,
        answer_removed=sum(f.answer_removed for f in figures),
        refused_answer_removed=sum(f.refused_answer_removed * f.answer_removed for f in figures) / r,
        ungrounded=sum(f.ungrounded for f in figures),
    )
