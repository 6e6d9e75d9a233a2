"""Keeps the shipped evaluation sets honest: well-formed, and every expected string really in its documents."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from qa.eval.dataset import EvalItem, load_dataset

REPO = Path(__file__).resolve().parents[2]
EVALS = REPO / "evals"
# the repo's sample corpus first; the shared seeds folder only while the repo copy does not exist yet
SEED_DIRS = (REPO / "data" / "seeds", Path("/work/shared/seeds"))
DATASETS = sorted(EVALS.glob("*.jsonl"))


@cache
def _doc_text(stem: str) -> str:
    for folder in SEED_DIRS:
        path = folder / f"{stem}.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise AssertionError(f"document {stem!r} named in an eval set is not in {[str(d) for d in SEED_DIRS]}")


def test_eval_sets_exist() -> None:
    names = {p.name for p in DATASETS}
    assert {"golden.jsonl", "sample_qa.jsonl"} <= names


@pytest.mark.parametrize("path", DATASETS, ids=lambda p: p.name)
def test_expected_strings_occur_in_cited_documents(path: Path) -> None:
    items = load_dataset(path)
    problems: list[str] = []
    for item in items:
        if item.unanswerable:
            assert not item.docs, f"{item.id}: an unanswerable item should not name documents"
            continue
        assert item.docs, f"{item.id}: an answerable item needs docs so citations can be checked"
        texts = [_doc_text(d) for d in item.docs]
        for s in (*item.expect_all, *item.answers):
            if not any(s in t for t in texts):
                problems.append(f"{item.id}: {s!r} not in any of {item.docs}")
        for doc, text in zip(item.docs, texts, strict=True):
            if not any(s in text for s in (*item.expect_all, *item.answers)):
                problems.append(f"{item.id}: {doc} holds none of its expected strings")
    assert not problems, "\n".join(problems)


def _sample() -> list[EvalItem]:
    return load_dataset(EVALS / "sample_qa.jsonl")


def test_sample_set_covers_the_required_kinds() -> None:
    items = _sample()
    assert len(items) >= 70
    assert all(item.id.startswith("s-") for item in items)
    tags = Counter(t for item in items for t in item.tags)
    assert tags["paraphrase"] >= 20
    assert tags["en"] >= 12
    assert tags["multi"] >= 6
    assert tags["unanswerable"] >= 12
    assert tags["number"] and tags["date"] and tags["name"] and tags["definition"]
    for item in items:
        assert item.unanswerable == ("unanswerable" in item.tags), item.id
        if "multi" in item.tags:
            assert len(item.expect_all) >= 2, item.id
        if not item.unanswerable:
            assert item.expect_all and item.answers, item.id


def test_sample_questions_are_distinct() -> None:
    questions = [item.question for item in _sample()]
    assert len(questions) == len(set(questions))


CMRC_CORPUS = REPO.parent / "shared" / "datasets" / "cmrc2018-trial" / "corpus"


def test_cmrc_near_misses_are_unanswerable_and_name_the_passage_they_ask_about() -> None:
    # `docs` here is the passage a question is about (it keeps the question in that passage's fold),
    # not a passage that answers it.
    items = load_dataset(EVALS / "cmrc2018" / "unanswerable.jsonl")
    assert len(items) >= 200
    assert all(item.unanswerable and not item.expect_all and not item.answers for item in items)
    assert all(len(item.docs) == 1 for item in items)
    assert len({item.docs[0] for item in items}) == len(items), "one question per passage"
    if CMRC_CORPUS.is_dir():
        missing = [item.id for item in items if not (CMRC_CORPUS / f"{item.docs[0]}.txt").is_file()]
        assert not missing, f"passages not in {CMRC_CORPUS}: {missing}"
