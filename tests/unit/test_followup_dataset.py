"""Keeps the follow-up dialogues honest: well-formed conversations, enough of each kind, expected strings really in
the cited documents, histories that replay the dialogue, and the development and held-out sets kept apart."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

import pytest

from qa.eval.dataset import EvalItem, load_dataset
from qa.ingest import load_file

REPO = Path(__file__).resolve().parents[2]
FOLLOWUP = REPO / "evals" / "followup"
SETS = {name: FOLLOWUP / f"{name}.jsonl" for name in ("dev", "test", "test2", "test3", "test4", "test5", "test6")}


@cache
def _items(name: str) -> tuple[EvalItem, ...]:
    return tuple(load_dataset(SETS[name]))


def _dialogues(name: str) -> dict[str, list[EvalItem]]:
    out: dict[str, list[EvalItem]] = defaultdict(list)
    for item in _items(name):
        out[item.id.rsplit("-", 1)[0]].append(item)
    return out


@cache
def _text(doc: str) -> str:
    for folder in (REPO / "data" / "seeds", FOLLOWUP / "docs"):
        path = folder / f"{doc}.txt"
        if path.exists():
            return load_file(path).text
    raise AssertionError(f"no document {doc}")


def test_at_least_sixty_dialogues_of_two_or_three_turns_with_every_kind() -> None:
    dialogues = {**_dialogues("dev"), **_dialogues("test")}
    assert len(dialogues) >= 60
    assert all(2 <= len(turns) <= 3 for turns in dialogues.values())
    tags = Counter(tag for name in SETS for item in _items(name) for tag in item.tags)
    assert tags["switch"] >= 10 and tags["en"] >= 2
    for kind in ("omission", "pronoun", "ellipsis", "constraint"):
        assert tags[kind] >= 2, kind
    assert {d.split("-")[0] for d in dialogues} == {"fu", "cm"}  # the sample corpus and CMRC 2018


@pytest.mark.parametrize("name", sorted(SETS))
def test_histories_replay_the_dialogue_and_follow_ups_have_a_standalone_form(name: str) -> None:
    for turns in _dialogues(name).values():
        asked: list[str] = []
        for item in turns:
            assert [t.content for t in item.history if t.role == "user"] == asked, item.id
            assert [t.role for t in item.history] == ["user", "assistant"] * len(asked), item.id
            if "followup" in item.tags:
                assert item.standalone and item.standalone != item.question, item.id
            else:
                assert not item.standalone, item.id
            assert ("first" in item.tags) == (not asked), item.id
            asked.append(item.question)


@pytest.mark.parametrize("name", sorted(SETS))
def test_expected_strings_occur_in_the_cited_documents(name: str) -> None:
    for item in _items(name):
        if item.unanswerable:
            continue
        texts = [_text(doc) for doc in item.docs]
        for expected in item.expect_all:
            assert any(expected in text for text in texts), (item.id, expected)


@pytest.mark.parametrize("held_out", ["test", "test2", "test3", "test4", "test5", "test6"])
def test_held_out_dialogues_are_about_other_passages_than_the_development_set(held_out: str) -> None:
    assert not set(_dialogues("dev")) & set(_dialogues(held_out))

    def passages(name: str) -> set[str]:
        # the sample corpus has five documents, shared by both sets; CMRC passages are not
        return {doc for item in _items(name) for doc in item.docs if doc.startswith("TRIAL_")}

    assert not passages("dev") & passages(held_out)
