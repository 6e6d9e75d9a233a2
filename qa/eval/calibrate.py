"""`qa calibrate DATASET.jsonl ...`: refit the answer model for the configured embedding model and collection.

The datasets' questions are asked over the collection (which must hold their documents) the way the service
asks them; the answer model is fitted on them (`qa.answer.fit`) and written where the service finds it
(`<index dir>/calibration/<embedding model>.json`, or `--out`). Printed: the figures of the model in use
before, on the same questions, and, with `--folds N`, the cross-validated figures of the new fitting
(N folds over question groups: all questions about one document fall in one fold), per fold and pooled.
Only the cross-validated figures measure the new model on questions it was not fitted on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from qa.answer.fit import Figures, check_enough, cross_validate, evaluate, fit_model, pooled
from qa.answer.model import AnswerModelError, calibrated_path
from qa.answer.training import DEPTH, Case, collect
from qa.config import Settings
from qa.eval.dataset import load_dataset
from qa.retrieve import stating_years, widen
from qa.service import QAService

_COLUMNS = (
    ("answerable", "answerable", "d"),
    ("contains_gold", "answer holds gold", ".3f"),
    ("cited_gold", "cites gold doc", ".3f"),
    ("refused_answerable", "answerable refused", ".3f"),
    ("short_f1", "short F1", ".3f"),
    ("short_em", "short EM", ".3f"),
    ("withheld", "gold doc deleted", "d"),
    ("refused_withheld", "deleted refused", ".3f"),
    ("answer_removed", "answer cut out", "d"),
    ("refused_answer_removed", "cut refused", ".3f"),
    ("ungrounded", "ungrounded", "d"),
)


def format_figures(rows: Sequence[tuple[str, Figures]]) -> str:
    # a run that never cut answers out (evals/crossval.py deletes whole documents) has no such columns
    columns = [c for c in _COLUMNS if "answer_removed" not in c[0] or any(fig.answer_removed for _, fig in rows)]
    header = ["", *(title for _, title, _ in columns)]
    table = [header]
    for name, fig in rows:
        table.append([name, *(format(getattr(fig, attr), spec) for attr, _, spec in columns)])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _say(message: str) -> None:
    print(f"[calibrate] {message}", file=sys.stderr, flush=True)


def build_cases(service: QAService, collection: str, datasets: Sequence[Path]) -> list[Case]:
    items = [(path.name, item) for path in datasets for item in load_dataset(path)]
    coll = service.collections.get(collection)
    reach = service.settings.context_reach
    top_k = service.settings.top_k
    _say(f"asking {len(items)} questions over collection {collection!r}")
    return collect(
        # as the service reads its evidence (`QAService.evidence`)
        lambda query, depth: stating_years(coll, service.retrieve(query, collection, max(depth, DEPTH)), query.years),
        lambda passages: widen(coll, passages, reach),
        items,
        top_k,
    )


def run_calibrate(
    settings: Settings,
    datasets: Sequence[Path],
    *,
    folds: int,
    coverage: float,
    max_false_refusals: float,
    out: Path | None,
) -> int:
    started = time.perf_counter()
    service = QAService(settings)
    service.collections.get(settings.collection)  # fail early, naming the missing collection
    cases = build_cases(service, settings.collection, datasets)
    check_enough(cases)  # over the whole set first: a fold's own shortfall would be counted per fold
    names = sorted({c.dataset for c in cases})
    rows: list[tuple[str, Figures]] = []
    try:
        model_in_use = service.answer_model
        rows.extend(
            (f"{name}: before (model in use)", evaluate(model_in_use, [c for c in cases if c.dataset == name]))
            for name in names
        )
    except AnswerModelError as exc:
        _say(f"no usable answer model before calibration ({exc.message})")
    if folds >= 2:
        per_fold = cross_validate(
            cases,
            folds=folds,
            embedding_model=settings.embedding_model,
            coverage=coverage,
            max_false_refusals=max_false_refusals,
            progress=_say,
        )
        for name in names:
            per_set = [fold[name] for fold in per_fold if name in fold]
            rows.extend((f"{name}: after, fold {i}", fig) for i, fig in enumerate(per_set, start=1))
            rows.append((f"{name}: after, {folds}-fold pooled", pooled(per_set)))
    _say("fitting on every question")
    meta = {
        "fitted_on": [str(p) for p in datasets],
        "questions": len({c.item.id for c in cases}),
        "cases": len(cases),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "folds": folds,
        "cross_validated": {name: fig.as_dict() for name, fig in rows if ": after" in name},
    }
    model = fit_model(
        cases,
        embedding_model=settings.embedding_model,
        coverage=coverage,
        max_false_refusals=max_false_refusals,
        meta=meta,
        progress=_say,
    )
    target = out or calibrated_path(settings.index_dir, settings.embedding_model)
    model.save(target)
    service.close()
    print(format_figures(rows))
    print(f"answer model written to {target} ({time.perf_counter() - started:.0f} s)")
    return 0
