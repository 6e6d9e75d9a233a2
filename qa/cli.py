"""The `qa` command line: ingest, search, ask, serve, eval, documents, delete, migrate."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from qa.config import Settings
from qa.errors import InvalidInput, QAError

STORES = ("embedded", "milvus")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index-dir", type=Path, default=None, help="index directory (env QA_INDEX_DIR, else ./index)")
    parser.add_argument("--collection", default=None, help="collection name (default: default)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Question answering over document collections.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add or update files and folders (.txt .md .html .htm .pdf .docx)")
    p.add_argument("paths", nargs="+", type=Path)
    _common(p)

    p = sub.add_parser("search", help="retrieve passages, best first")
    p.add_argument("query")
    p.add_argument("--k", type=_positive_int, default=None, help="number of passages (default 5)")
    p.add_argument("--fusion", choices=["rrf", "dense", "bm25"], default=None, help="retrieval variant")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--k", type=_positive_int, default=None, help="passages to answer from (default 5)")
    p.add_argument("--json", action="store_true", help="print exactly the /v1/ask response body")
    _common(p)

    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    _common(p)

    p = sub.add_parser("eval", help="evaluate retrieval and answers on a JSONL dataset")
    p.add_argument("dataset", type=Path)
    p.add_argument("--out", type=Path, default=None, help="write report.md, results.jsonl and plots here")
    p.add_argument("--compare", action="store_true", help="evaluate every retrieval variant side by side")
    p.add_argument(
        "--ignore-history", action="store_true", help="ask multi-turn items without their history (a baseline)"
    )
    _common(p)

    p = sub.add_parser("calibrate", help="refit the answer model on JSONL datasets over this collection")
    p.add_argument("datasets", nargs="+", type=Path, help="evaluation sets whose documents the collection holds")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds to report (0: none; default 5)")
    p.add_argument(
        "--coverage",
        type=float,
        default=0.95,
        help="quote sentences until they hold the answer with this probability (default 0.95)",
    )
    p.add_argument(
        "--max-false-refusals",
        type=float,
        default=0.03,
        help="refuse at most this share of the questions the documents answer (default 0.03)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the model file to write (default: <index dir>/calibration/<embedding model>.json)",
    )
    _common(p)

    p = sub.add_parser("documents", help="list the documents of a collection")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("delete", help="delete a document and its chunks from every index")
    p.add_argument("doc_id")
    _common(p)

    p = sub.add_parser("migrate", help="copy a collection to another store (QA_STORE) without re-embedding")
    p.add_argument("--from", dest="source", choices=STORES, required=True, help="the store to copy from")
    p.add_argument("--to", dest="target", choices=STORES, required=True, help="the store to copy into")
    p.add_argument("--all", action="store_true", help="every collection of the source store")
    _common(p)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "index_dir", None) is not None:
        overrides["index_dir"] = args.index_dir
    if getattr(args, "collection", None) is not None:
        overrides["collection"] = args.collection
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings(**overrides)  # type: ignore[arg-type]


def _print_json(payload: object) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=2))


class _IngestProgress:
    """Two bars on stderr, each with its rate and time left: files loaded, then chunks embedded (the part that
    takes the time; the bar appears only when there is something to embed)."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._embed: Any = None

    def files(self, paths: Iterable[Path]) -> Iterable[Path]:
        return cast(Iterable[Path], self._tqdm(paths, desc="load", unit="file", file=sys.stderr))

    def embedded(self, done: int, total: int) -> None:
        if self._embed is None:
            self._embed = self._tqdm(total=total, desc="embed", unit="chunk", file=sys.stderr)
        self._embed.update(done - self._embed.n)

    def close(self) -> None:
        if self._embed is not None:
            self._embed.close()


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import QAService

    service = QAService(settings)
    bars = _IngestProgress()
    try:
        report = service.ingest_paths(args.paths, settings.collection, progress=bars.files, embedded=bars.embedded)
    finally:
        bars.close()
        service.close()
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.skipped else 0


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import QAService

    service = QAService(settings)
    passages = service.search(args.query, settings.collection, args.k, fusion=args.fusion)
    if args.json:
        _print_json({"passages": [p.as_dict() for p in passages]})
        return 0
    for rank, p in enumerate(passages, start=1):
        print(f"[{rank}] {p.score:.4f}  {p.title}  ({p.source} {p.start}-{p.end})")
        print("    " + p.text.replace("\n", " ")[:300])
    if not passages:
        print("no passages found")
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import QAService

    service = QAService(settings)
    answer = asyncio.run(service.ask(args.question, settings.collection, args.k))
    if args.json:
        from qa.api.responses import AskResponse

        _print_json(AskResponse.of(answer, args.question.strip()).model_dump(mode="json"))  # the /v1/ask body
        return 0
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            print(f"[{c.ref}] {c.title} — {c.source} [{c.start}:{c.end}]")
            print(f"    {c.text}")
    for warning in answer.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from qa.api.server import run

    run(settings)
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.eval.runner import run_eval

    return run_eval(settings, args.dataset, args.out, compare=args.compare, ignore_history=args.ignore_history)


def _cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from qa.eval.calibrate import run_calibrate

    if args.folds == 1 or args.folds < 0:
        raise InvalidInput(f"--folds must be 0 or at least 2, got {args.folds}")
    if not 0.0 < args.coverage <= 1.0:
        raise InvalidInput(f"--coverage must be in (0, 1], got {args.coverage}")
    if not 0.0 <= args.max_false_refusals < 1.0:
        raise InvalidInput(f"--max-false-refusals must be in [0, 1), got {args.max_false_refusals}")
    if args.out is not None and args.out.is_dir():
        raise InvalidInput(
            f"--out {args.out} is a folder: name the model file to write, e.g. {args.out / 'model.json'}"
        )
    return run_calibrate(
        settings,
        args.datasets,
        folds=args.folds,
        coverage=args.coverage,
        max_false_refusals=args.max_false_refusals,
        out=args.out,
    )


def _cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import QAService

    docs = QAService(settings).list_documents(settings.collection)
    if args.json:
        _print_json([{"doc_id": d.doc_id, "source": d.source, "title": d.title, "chunks": d.n_chunks} for d in docs])
    else:
        for d in docs:
            print(f"{d.doc_id}\t{d.n_chunks} chunks\t{d.title}\t{d.source}")
    return 0


def _cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    from qa.service import QAService

    QAService(settings).delete_document(settings.collection, args.doc_id)
    print(f"deleted {args.doc_id}")
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from qa.errors import CollectionNotFound, InvalidInput
    from qa.index import validate_collection_name
    from qa.index.backends import make_backend
    from qa.index.migrate import copy_collection

    if args.source == args.target:
        raise InvalidInput(f"--from and --to are both {args.source}: name two different stores")
    if args.all and args.collection:
        raise InvalidInput(f"--all copies every collection, not only '{args.collection}': give one or the other")
    dims: list[int] = []  # the collection being copied decides a new target collection's dimension

    def no_new_source_collection() -> int:
        raise CollectionNotFound("the source collection does not exist")

    source = make_backend(settings, no_new_source_collection, store=args.source)
    target = make_backend(settings, lambda: dims[-1], store=args.target)
    try:
        names = source.names() if args.all else [validate_collection_name(settings.collection)]
        if not names:
            raise CollectionNotFound(f"the {args.source} store holds no collection")
        for name in names:
            if not source.exists(name):
                raise CollectionNotFound(f"collection '{name}' does not exist in the {args.source} store")
            from_coll = source.open(name)
            dims.append(from_coll.dim)
            to_coll = target.open(name)
            report = copy_collection(from_coll, to_coll, progress=partial(tqdm, desc=name, unit="doc", file=sys.stderr))
            print(f"{name}: {report.summary()}")
            from_coll.close()
            to_coll.close()
    finally:
        source.close()
        target.close()
    return 0


# commands that never load the embedding model
_NO_EMBEDDING = frozenset({"documents", "delete", "migrate"})

_COMMANDS = {
    "ingest": _cmd_ingest,
    "search": _cmd_search,
    "ask": _cmd_ask,
    "serve": _cmd_serve,
    "eval": _cmd_eval,
    "calibrate": _cmd_calibrate,
    "documents": _cmd_documents,
    "delete": _cmd_delete,
    "migrate": _cmd_migrate,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from qa.logging import configure_logging
    from qa.runtime import configure_process

    configure_logging("WARNING" if args.command != "serve" else "INFO")
    try:
        settings = _settings(args)
        # ingest embeds passages in worker processes, which size their own pools; this process embeds questions
        configure_process(torch_model=args.command not in _NO_EMBEDDING and settings.embed_backend == "torch")
        return _COMMANDS[args.command](args, settings)
    except QAError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"QA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`qa documents | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
