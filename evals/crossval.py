"""Cross-validated answer figures through the service path, with the gold passages really deleted.

The protocol behind the answer figures in the README. The questions are split into folds over documents
(questions about one document never straddle folds: `qa.answer.fit.fold_of`). For each fold:

1. the answer model is fitted (`qa.answer.fit.fit_model`, as `qa calibrate` does) on the other folds'
   questions only;
2. the fold's questions are asked through `QAService.ask` — the code path of `/v1/ask` — with that model,
   and scored like `qa eval` does (answer holds a gold span, cites a gold document, refused, short answer
   F1 and exact match, ungrounded numbers);
3. the fold's documents are deleted from a copy of the collection (`QAService.delete_document`, as
   `DELETE .../documents/{id}` does) and the same questions asked again: each must now be refused.

    .venv/bin/qa ingest ../shared/datasets/cmrc2018-trial/corpus --index-dir /tmp/cmrc
    .venv/bin/python evals/crossval.py ../shared/datasets/cmrc2018-trial/questions.jsonl --index-dir /tmp/cmrc \
        --also evals/cmrc2018/unanswerable.jsonl

`--also` adds training sets over the same index (their questions are split into the same folds by document
and fitted on like the others, never asked). `--test-dataset`/`--test-index-dir` ask each fold's questions
in another form — the same questions and passages in traditional script, say — over another index: the
models are still fitted on the first dataset's other folds. It prints one row per fold and the pooled row,
and the command that reproduces them; `--dump` writes each asked question's answers, for reading the misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from qa.answer.fit import Figures, fit_model, fold_of, pooled
from qa.config import Settings
from qa.eval.calibrate import build_cases, format_figures
from qa.eval.dataset import EvalItem, load_dataset
from qa.eval.metrics import char_f1, contains_gold, doc_matches, exact_match, strip_citation_markers
from qa.runtime import configure_process
from qa.service import QAService


def _score(service: QAService, items: list[EvalItem], deleted: QAService, dump: TextIO | None = None) -> Figures:
    sums = {"contains": 0.0, "cited": 0.0, "refused": 0.0, "f1": 0.0, "em": 0.0, "gone": 0.0}
    ungrounded = 0
    for item in items:
        answer = asyncio.run(service.ask(item.question, "default"))
        ungrounded += bool(answer.ungrounded_numbers)
        text = strip_citation_markers(answer.answer) if answer.found else ""
        golds = item.answers or item.expect_all
        sums["contains"] += contains_gold(text, golds)
        sums["cited"] += float(
            answer.found and any(doc_matches(c.doc_id, c.source, item.docs) for c in answer.citations)
        )
        sums["refused"] += not answer.found
        short = answer.short_answer.text if answer.found and answer.short_answer else ""
        sums["f1"] += max(char_f1(short, g) for g in golds) if short else 0.0
        sums["em"] += exact_match(short, golds) if short else 0.0
        after = asyncio.run(deleted.ask(item.question, "default"))
        sums["gone"] += not after.found
        if dump is not None:
            record = {
                "id": item.id,
                "question": item.question,
                "answers": golds,
                "found": answer.found,
                "answer": answer.answer,
                "short_answer": short,
                "cited": [c.doc_id for c in answer.citations],
                "answered_when_deleted": after.found,
            }
            dump.write(json.dumps(record, ensure_ascii=False) + "\n")
        ungrounded += bool(after.ungrounded_numbers)
    n = max(len(items), 1)
    return Figures(
        answerable=len(items),
        contains_gold=sums["contains"] / n,
        cited_gold=sums["cited"] / n,
        refused_answerable=sums["refused"] / n,
        short_f1=sums["f1"] / n,
        short_em=sums["em"] / n,
        withheld=len(items),
        refused_withheld=sums["gone"] / n,
        ungrounded=ungrounded,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="answerable questions with `docs` (file stems or doc ids)")
    parser.add_argument("--index-dir", type=Path, required=True, help="an index whose `default` holds their documents")
    parser.add_argument("--also", type=Path, action="append", default=[], help="more training sets (same index)")
    parser.add_argument("--test-dataset", type=Path, default=None, help="the questions to ask (same ids)")
    parser.add_argument("--test-index-dir", type=Path, default=None, help="the index to ask them over")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--coverage", type=float, default=0.95)
    parser.add_argument("--max-false-refusals", type=float, default=0.03)
    parser.add_argument("--dump", type=Path, default=None, help="write each asked question's answers here (JSONL)")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = Settings(index_dir=args.index_dir)
    configure_process(torch_model=settings.embed_backend == "torch")
    test_index = args.test_index_dir or args.index_dir
    items = [i for i in load_dataset(args.test_dataset or args.dataset) if not i.unanswerable and i.docs]
    source = QAService(settings)
    cases = build_cases(source, "default", [args.dataset, *args.also])
    source.close()
    target = QAService(Settings(index_dir=test_index))
    stored = {d.doc_id: d for d in target.list_documents("default")}
    target.close()
    assignment = fold_of(cases, args.folds)
    rows: list[tuple[str, Figures]] = []
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    with tempfile.TemporaryDirectory() as tmp:
        for fold in range(args.folds):
            train = [c for c in cases if assignment[c.group] != fold]
            model = fit_model(
                train,
                embedding_model=settings.embedding_model,
                coverage=args.coverage,
                max_false_refusals=args.max_false_refusals,
            )
            model_path = Path(tmp) / f"fold{fold}.json"
            model.save(model_path)
            held = [i for i in items if assignment.get(i.docs[0]) == fold]
            copy = Path(tmp) / f"fold{fold}-index"
            shutil.copytree(test_index, copy)
            asked = QAService(Settings(index_dir=test_index, answer_model=model_path))
            deleted = QAService(Settings(index_dir=copy, answer_model=model_path))
            for doc_id, info in stored.items():
                if doc_matches(doc_id, info.source, {d for i in held for d in i.docs}):
                    deleted.delete_document("default", doc_id)
            rows.append((f"fold {fold + 1}", _score(asked, held, deleted, dump)))
            asked.close()
            deleted.close()
            shutil.rmtree(copy)
            print(
                f"[crossval] fold {fold + 1}/{args.folds} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr
            )
    if dump is not None:
        dump.close()
    rows.append((f"{args.folds}-fold pooled", pooled([f for _, f in rows])))
    print(format_figures(rows))
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
