"""Fitting the follow-up carry and parallel models (`carry_model.json`, `parallel_model.json`); run offline,
never while serving.

    python -m qa.conversation.fit --dialogues evals/followup/dev.jsonl \
        --cmrc ../shared/datasets/cmrc2018-trial --exclude evals/followup/test.jsonl

Training examples come from two places:
- written dialogues (the development set): each follow-up with the standalone question it stands for, each
  topic switch with itself;
- dialogues made from CMRC 2018 questions: several questions of one passage name its subject ("尤金袋鼠…"),
  so one of them asked after another, with the subject left out or replaced by 它, is a follow-up whose
  standalone form is the original question; the same question asked unchanged is a standalone question on the
  same topic; a question about another passage is a topic switch, and so is a question of the same passage
  that opens with another name it holds ("刘七是怎么死的？" after "刘六的本名是什么？"). Passages that the
  `--exclude` sets cite are left out, so the held-out dialogues measure the model on subjects it never saw.

A candidate word's label is whether the standalone question holds it. The regularisation strength and the carry
thresholds (one for follow-ups with a pronoun, one for questions that open with a name of their own, one for the
rest) are chosen by cross-validation grouped by dialogue (every example of a dialogue or a passage in the same
fold); the model is then refitted on everything.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.conversation.carry import (
    FEATURES,
    MODEL_FILE,
    PARALLEL_FEATURES,
    PARALLEL_FILE,
    Evidence,
    Logistic,
    Search,
    centred,
    ellipsis_frame,
    features,
    opens_with_name,
    parallel_features,
    threshold_class,
)
from qa.conversation.terms import read
from qa.segment import STOP_WORDS, words
from qa.text import fold
from qa.types import Passage

# CMRC questions name their passage's subject with a string from its opening words
_HEAD_CHARS = 40
_MIN_SUBJECT_CHARS = 2
_PAIRS_PER_PASSAGE = 3
_THRESHOLDS = np.round(np.arange(0.1, 0.951, 0.05), 2)
_C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
_FOLDS = 5
# A question that stands alone must be searched as asked: the carry threshold is the one with the best word F1
# among those that leave at least this share of topic switches untouched out of fold.
_SWITCHES_UNTOUCHED = 0.99


@dataclass(frozen=True, slots=True)
class Example:
    """A question asked after `earlier` (standalone questions, oldest first; the last is the previous one), with
    the standalone question it stands for (`gold == question` when it stands alone)."""

    group: str
    question: str
    gold: str
    earlier: tuple[str, ...]
    kind: str  # "followup", "switch" or "same-topic"


def dialogue_examples(path: Path) -> list[Example]:
    """Examples from an evaluation set of dialogues (items with `history`, `standalone` and tags)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    golds: dict[str, list[str]] = defaultdict(list)  # dialogue → standalone questions so far
    out: list[Example] = []
    for item in items:
        dialogue = item["id"].rsplit("-", 1)[0]
        gold = item.get("standalone") or item["question"]
        earlier = tuple(golds[dialogue])
        if item.get("history"):
            kind = "switch" if "switch" in item.get("tags", []) else "followup"
            if kind == "followup" and gold == item["question"]:
                kind = "same-topic"
            out.append(Example(dialogue, item["question"], gold, earlier, kind))
        golds[dialogue].append(gold)
    return out


def _subject(question: str, head: str) -> str:
    """The longest string of at least two characters that the question shares with the passage's opening."""
    best = ""
    for i in range(len(question)):
        for j in range(i + max(_MIN_SUBJECT_CHARS, len(best) + 1), len(question) + 1):
            if question[i:j] in head:
                best = question[i:j]
            else:
                break
    return best


def cmrc_examples(folder: Path, exclude_docs: set[str], rng: random.Random) -> list[Example]:
    """Follow-ups, same-topic questions and topic switches made from CMRC 2018 questions (see module doc)."""
    asked_of: dict[str, list[str]] = defaultdict(list)
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        doc = item["docs"][0]
        if doc not in exclude_docs:
            asked_of[doc].append(item["question"])
    named: dict[str, list[tuple[str, str]]] = {}  # doc → (question, subject) for questions naming the subject
    for doc, asked in asked_of.items():
        head = (folder / "corpus" / f"{doc}.txt").read_text(encoding="utf-8")[:_HEAD_CHARS]
        with_subject = [(q, _subject(q, head)) for q in asked]
        subjects = [s for _, s in with_subject if s]
        common = max(sorted(set(subjects)), key=subjects.count) if subjects else ""
        if common and subjects.count(common) >= 2:
            named[doc] = [(q, s) for q, s in with_subject if s == common]
    docs = sorted(named)
    out: list[Example] = []
    for doc in docs:
        candidates = named[doc]
        pairs = [(a, b) for a in candidates for b in candidates if a is not b]
        rng.shuffle(pairs)
        for (first, _), (second, subject) in pairs[:_PAIRS_PER_PASSAGE]:
            left_out = second.replace(subject, "", 1).lstrip("的").strip()
            if left_out and read(left_out).terms:
                out.append(Example(doc, left_out, second, (first,), "followup"))
            out.append(Example(doc, second.replace(subject, "它", 1), second, (first,), "followup"))
            out.append(Example(doc, second, second, (first,), "same-topic"))
            other = rng.choice([d for d in docs if d != doc])
            switch = rng.choice(named[other])[0]
            out.append(Example(f"{doc}+{other}", switch, switch, (first,), "switch"))
        # a question of the same passage about something else it names ("刘七是怎么死的？" after
        # "刘六的本名是什么？"): it stands alone though retrieval finds the previous question's passage for it, as
        # with two towns of one report
        subject = candidates[0][1]
        siblings = [q for q in asked_of[doc] if names_other_subject(q, subject)]
        for k, second in enumerate(siblings[:_PAIRS_PER_PASSAGE]):
            first = candidates[k % len(candidates)][0]
            out.append(Example(doc, second, second, (first,), "switch"))
    return out


def names_other_subject(question: str, subject: str) -> bool:
    """A question that leaves out `subject`, refers to nothing by a pronoun and opens with a proper noun: it names
    what it asks about, so it needs nothing carried. Mostly another subject of the passage; sometimes the same
    one by a shorter name ("吉斯伯恩" for "吉斯伯恩大区"), for which carrying nothing is right too. (Opening with
    the name matters: CMRC questions that name a place or a person further on, "谁会在09-10赛季被借到亚特兰大？",
    often lean on their passage's subject.)"""
    if subject in question:
        return False
    return opens_with_name(read(question))


def _content(tokens: Sequence[str]) -> bool:
    """Tokens that are all content words (no stop word, no punctuation) and at least one of them."""
    return bool(tokens) and all(t.strip() and t not in STOP_WORDS and any(c.isalnum() for c in t) for t in tokens)


def ellipsis_examples(folder: Path, exclude_docs: set[str], rng: random.Random, per_question: int = 4) -> list[Example]:
    """Pairs of CMRC questions that differ in one run of content words ("1992年4月，罗保铭担任什么职务？" and
    "2017年4月，…", or "猴面包树的别名是什么？" and "软枝黄蝉的别名是什么？"): the second, asked as just its
    different words ("那2017年呢？", "软枝黄蝉呢？"), is a follow-up that keeps the first one's frame. Asked in
    full after the first, the second stands alone and nothing is carried: a topic switch to a parallel subject
    (the same frame, another name: the hard case for carrying words), in another passage or in the same one."""
    questions: list[tuple[str, str]] = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["docs"][0] not in exclude_docs:
            questions.append((item["docs"][0], item["question"]))
    tokens = [words(q) for _, q in questions]
    out: list[Example] = []
    for i, (doc, first) in enumerate(questions):
        found: list[Example] = []
        for j, (other_doc, second) in enumerate(questions):
            a, b = tokens[i], tokens[j]
            if i == j or a == b:
                continue
            head = 0
            while head < min(len(a), len(b)) and a[head] == b[head]:
                head += 1
            tail = 0
            while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
                tail += 1
            old, new = a[head : len(a) - tail], b[head : len(b) - tail]
            frame = a[:head] + a[len(a) - tail :]
            if not (_content(old) and _content(new)) or not any(_content([t]) for t in frame):
                continue
            said = "".join(new)
            asked = f"那{said}呢？" if rng.random() < 0.5 else f"{said}呢？"
            found.append(Example(f"{doc}+{other_doc}", asked, second, (first,), "followup"))
        rng.shuffle(found)
        for ex in found[:per_question]:
            out.append(ex)
            # asked in full, the second question carries nothing, whether its subject is in another passage
            # or beside the first one's in the same passage (two towns of one report)
            out.append(Example(ex.group, ex.gold, ex.gold, ex.earlier, "switch"))
    return out


@dataclass(slots=True)
class Rows:
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    example: np.ndarray  # index into the examples


def build_rows(examples: Sequence[Example], search: Search) -> Rows:
    """Candidate-word rows of every example; `search` retrieves from the collection the dialogues are about."""
    found: dict[str, Sequence[Passage]] = {}

    def cached(text: str) -> Sequence[Passage]:
        if text not in found:
            found[text] = search(text)
        return found[text]

    xs: list[list[float]] = []
    ys: list[int] = []
    groups: list[str] = []
    owners: list[int] = []
    for n, ex in enumerate(examples):
        question, previous = read(ex.question), read(ex.earlier[-1])
        gold = fold(ex.gold)
        evidence = Evidence.of(cached(ex.question), cached(ex.earlier[-1]))
        for term, row in features(question, previous, [read(e) for e in ex.earlier], evidence):
            xs.append(row)
            ys.append(int((term.key or term.text) in gold))
            groups.append(ex.group)
            owners.append(n)
    return Rows(
        np.asarray(xs, dtype=np.float64).reshape(-1, len(FEATURES)),
        np.asarray(ys),
        np.asarray(groups),
        np.asarray(owners),
    )


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def _probabilities(x: np.ndarray, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ coef + b)))


@dataclass(frozen=True, slots=True)
class Scores:
    """Term level: precision, recall, F1 of carried words. Question level: share of follow-ups given every word
    their standalone form needs, share of topic switches and same-topic questions left exactly as asked."""

    precision: float
    recall: float
    f1: float
    followups_complete: float
    switches_untouched: float
    same_topic_untouched: float

    def line(self) -> str:
        return (
            f"words P {self.precision:.3f} R {self.recall:.3f} F1 {self.f1:.3f}; follow-ups complete "
            f"{self.followups_complete:.3f}, switches untouched {self.switches_untouched:.3f}, same-topic untouched "
            f"{self.same_topic_untouched:.3f}"
        )


def score(examples: Sequence[Example], rows: Rows, carried: np.ndarray) -> Scores:
    needed = rows.y == 1
    tp = int(np.sum(carried & needed))
    precision = tp / max(int(carried.sum()), 1)
    recall = tp / max(int(needed.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # per example: how many of its words were carried, and how many it needed that were not
    touched = np.bincount(rows.example[carried], minlength=len(examples)) > 0
    missed = np.bincount(rows.example[needed & ~carried], minlength=len(examples)) > 0
    kind = np.asarray([ex.kind for ex in examples])
    followup = (kind != "switch") & (kind != "same-topic")

    def share(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else float("nan")

    return Scores(
        precision,
        recall,
        f1,
        share(~missed[followup]),
        share(~touched[kind == "switch"]),
        share(~touched[kind == "same-topic"]),
    )


def cross_validate(examples: Sequence[Example], rows: Rows, seed: int) -> tuple[float, float, Scores, np.ndarray]:
    """The (C, threshold) with the best term F1 over grouped folds among those that leave `_SWITCHES_UNTOUCHED`
    of the topic switches as asked (the most untouched switches, then F1, when none does), with the out-of-fold
    probabilities at that C."""
    from sklearn.model_selection import GroupKFold

    folds = list(GroupKFold(n_splits=_FOLDS, shuffle=True, random_state=seed).split(rows.x, rows.y, rows.group))
    best: tuple[tuple[bool, float, float], float, float, Scores, np.ndarray] | None = None
    for c in _C_GRID:
        probabilities = np.zeros(len(rows.y))
        for train, test in folds:
            mean, scale, coef, b = _fit(rows.x[train], rows.y[train], c)
            probabilities[test] = _probabilities(rows.x[test], mean, scale, coef, b)
        for threshold in _THRESHOLDS:
            scores = score(examples, rows, probabilities >= threshold)
            safe = scores.switches_untouched >= _SWITCHES_UNTOUCHED
            objective = (safe, scores.f1 if safe else scores.switches_untouched, scores.f1)
            if best is None or objective > best[0]:
                best = (objective, c, float(threshold), scores, probabilities)
    assert best is not None
    return best[1], best[2], best[3], best[4]


# questions whose carry threshold is fitted apart, in the order the model checks them: follow-ups with a pronoun
# refer back by their very words; questions that open with a name of their own are mostly topic switches
_CLASSES = ("q_pronoun", "q_opens_novel_proper")


def fit_class_thresholds(
    examples: Sequence[Example], rows: Rows, probabilities: np.ndarray, threshold: float
) -> tuple[tuple[tuple[str, float], ...], float, Scores]:
    """A threshold per class of question (`_CLASSES`, then the rest), every combination tried, the one with the
    best out-of-fold term F1 among those that leave `_SWITCHES_UNTOUCHED` of the topic switches as asked (`threshold`
    for all when none beats it). One threshold for every question is held high by the switches that open with a
    subject of their own, and leaves follow-ups that name no subject at all unresolved."""
    classes = np.asarray([threshold_class(row, FEATURES, _CLASSES) for row in rows.x])
    masks = [classes == k for k in range(len(_CLASSES) + 1)]

    def carried_at(values: Sequence[float]) -> np.ndarray:
        carried = np.zeros(len(rows.y), dtype=bool)
        for mask, value in zip(masks, values, strict=True):
            carried |= mask & (probabilities >= value)
        return carried

    best: tuple[float, list[float]] = (-1.0, [threshold] * len(masks))
    for values in itertools.product(_THRESHOLDS, repeat=len(masks)):
        scores = score(examples, rows, carried_at(values))
        if scores.switches_untouched >= _SWITCHES_UNTOUCHED and scores.f1 > best[0]:
            best = (scores.f1, [float(v) for v in values])
    chosen = best[1]
    return tuple(zip(_CLASSES, chosen[:-1], strict=True)), chosen[-1], score(examples, rows, carried_at(chosen))


def fit_parallel(examples: Sequence[Example], seed: int) -> tuple[Logistic, float, int]:
    """The parallel model, fitted on the elliptical follow-ups among `examples`: each word of the previous
    question the follow-up could replace is labelled by whether the standalone question drops it. Returns the
    model refitted on everything, the cross-validated share of follow-ups whose most probable word is one the
    standalone question drops (C chosen by it, folds grouped by dialogue), and how many follow-ups there were."""
    from sklearn.model_selection import GroupKFold

    xs: list[list[float]] = []
    ys: list[int] = []
    groups: list[str] = []
    owners: list[int] = []
    n = 0
    for ex in examples:
        asked = ellipsis_frame(ex.question, ex.earlier[-1])
        if ex.kind != "followup" or asked is None:
            continue
        question, previous = read(ex.question), read(ex.earlier[-1])
        rows = parallel_features(previous, question, asked)
        gold = fold(ex.gold)
        labels = [int((previous.terms[i].key or previous.terms[i].text) not in gold) for i, _ in rows]
        if not any(labels) or all(labels):
            continue  # nothing to choose between
        for row, label in zip(centred([row for _, row in rows]), labels, strict=True):
            xs.append(row)
            ys.append(label)
            groups.append(ex.group)
            owners.append(n)
        n += 1
    x, y, group, owner = np.asarray(xs), np.asarray(ys), np.asarray(groups), np.asarray(owners)

    def top1(probabilities: np.ndarray) -> list[bool]:
        """Per follow-up, whether its most probable word is one the standalone question drops."""
        return [bool(y[m][np.argmax(probabilities[m])]) for o in np.unique(owner) if (m := owner == o).any()]

    folds = list(GroupKFold(n_splits=_FOLDS, shuffle=True, random_state=seed).split(x, y, group))
    best: tuple[float, float] | None = None
    for c in _C_GRID:
        probabilities = np.zeros(len(y))
        for train, test in folds:
            mean, scale, coef, b = _fit(x[train], y[train], c)
            probabilities[test] = _probabilities(x[test], mean, scale, coef, b)
        hits = top1(probabilities)
        accuracy = sum(hits) / len(hits)
        if best is None or accuracy > best[0]:
            best = (accuracy, c)
    assert best is not None
    mean, scale, coef, b = _fit(x, y, best[1])
    # the rewrite takes the most probable word whatever its probability: the threshold is not used
    return Logistic(PARALLEL_FEATURES, tuple(mean), tuple(scale), tuple(coef), b, 0.5), best[0], n


def write_dialogues(examples: Sequence[Example], folder: Path, path: Path) -> int:
    """CMRC-made examples as `qa eval` items (the earlier question and its first gold answer as history, the
    standalone form for follow-ups), to measure the rewrite end to end. Returns how many were written."""
    asked = {}
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        asked[item["question"]] = item
    with path.open("w", encoding="utf-8") as out:
        n = 0
        for ex in examples:
            first, gold = asked[ex.earlier[-1]], asked[ex.gold]
            item = {
                "id": f"made-{n}",
                "question": ex.question,
                "history": [
                    {"role": "user", "content": ex.earlier[-1]},
                    {"role": "assistant", "content": first["answers"][0]},
                ],
                "answers": gold["answers"],
                "docs": gold["docs"],
                "tags": [ex.kind],
            }
            if ex.kind == "followup":
                item["standalone"] = ex.gold
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
            n += 1
    return n


def _searcher(index_dir: Path, collection: str) -> Search:
    """Retrieval as the service does it, as deep as its candidate lists (so every passage has both ranks)."""
    from qa.config import Settings
    from qa.service import QAService

    service = QAService(Settings(index_dir=index_dir))
    depth = service.settings.candidates
    return lambda text: service.search(text, collection, depth)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.conversation.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialogues", type=Path, action="append", default=[], help="development dialogues (JSONL)")
    parser.add_argument("--cmrc", type=Path, help="the CMRC 2018 trial folder (questions.jsonl, corpus/)")
    parser.add_argument(
        "--exclude", type=Path, action="append", default=[], help="held-out sets: the passages they cite are skipped"
    )
    parser.add_argument("--check", type=Path, action="append", default=[], help="held-out dialogues to score only")
    parser.add_argument("--index-dir", type=Path, required=True, help="an index holding the dialogues' documents")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--parallel-out", type=Path, default=PARALLEL_FILE)
    parser.add_argument("--write-dialogues", type=Path, help="also write the CMRC-made dialogues for `qa eval`")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    examples: list[Example] = []
    for path in args.dialogues:
        examples += dialogue_examples(path)
    if args.cmrc:
        excluded = {
            d
            for path in args.exclude
            for line in path.read_text().splitlines()
            if line.strip()
            for d in json.loads(line).get("docs", [])
        }
        made = cmrc_examples(args.cmrc, excluded, rng) + ellipsis_examples(args.cmrc, excluded, rng)
        examples += made
        if args.write_dialogues:
            written = write_dialogues(made, args.cmrc, args.write_dialogues)
            print(f"wrote {written} CMRC-made dialogue turns to {args.write_dialogues}")
    if not examples:
        parser.error("no training examples: give --dialogues and/or --cmrc")
    parallel, accuracy, n = fit_parallel(examples, args.seed)
    # elliptical follow-ups take the previous question's frame through the parallel model, not word carrying
    examples = [e for e in examples if not (e.kind == "followup" and ellipsis_frame(e.question, e.earlier[-1]))]
    search = _searcher(args.index_dir, args.collection)
    rows = build_rows(examples, search)
    kinds = {k: sum(e.kind == k for e in examples) for k in ("followup", "same-topic", "switch")}
    print(f"fitting on {len(examples)} examples {kinds}, {len(rows.y)} candidate words ({int(rows.y.sum())} carried)")
    c, threshold, cv, probabilities = cross_validate(examples, rows, args.seed)
    print(f"cross-validated: C={c} threshold={threshold}: {cv.line()}")
    thresholds, threshold, cv = fit_class_thresholds(examples, rows, probabilities, threshold)
    print(f"  thresholds by question {dict(thresholds)}, else {threshold}: {cv.line()}")
    mean, scale, coef, b = _fit(rows.x, rows.y, c)
    model = Logistic(FEATURES, tuple(mean), tuple(scale), tuple(coef), b, threshold, thresholds)
    for name, weight in sorted(zip(FEATURES, coef, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:24s} {weight:+.3f}")
    for path in args.check:
        held = dialogue_examples(path)
        held_rows = build_rows(held, search)
        held_probabilities = _probabilities(held_rows.x, mean, scale, coef, b)
        carried = held_probabilities >= np.asarray([model.threshold_of(row) for row in held_rows.x])
        print(f"held out {path}: {len(held)} examples: {score(held, held_rows, carried).line()}")
    args.out.write_text(json.dumps(model.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    print(f"parallel model: {n} elliptical follow-ups; cross-validated: right word replaced {accuracy:.3f}")
    for name, weight in sorted(zip(PARALLEL_FEATURES, parallel.coef, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:24s} {weight:+.3f}")
    args.parallel_out.write_text(json.dumps(parallel.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.parallel_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
