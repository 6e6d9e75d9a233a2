"""The fitting helpers of `qa calibrate`, on cases small enough to check by hand."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from qa.answer.evidence import Sentence
from qa.answer.fit import Figures, fold_of, pooled, refusal_threshold
from qa.answer.training import Case
from qa.eval.dataset import EvalItem
from qa.query import analyze
from tests.support import REPO, SEEDS


def test_the_refusal_threshold_refuses_no_more_answerable_cases_than_allowed() -> None:
    answerable = np.linspace(0.05, 0.95, 100)  # 100 answerable cases
    unanswerable = np.array([0.01, 0.02, 0.03, 0.5])
    probabilities = np.concatenate([answerable, unanswerable])
    labels = np.array([1] * 100 + [0] * 4)
    t = refusal_threshold(probabilities, labels, 0.02)
    assert (answerable < t).sum() == 2
    assert (unanswerable < t).sum() == 3  # what the target leaves to the data
    assert (answerable < refusal_threshold(probabilities, labels, 0.0)).sum() == 0


def _case(group: str, answerable: bool) -> Case:
    item = EvalItem(id=group, question="?", answers=("x",) if answerable else (), unanswerable=not answerable)
    sentence = Sentence(0, 0, 1, "x", "x")
    return Case(
        item,
        analyze("x?"),
        [],
        [sentence],
        [[0.0]],
        [int(answerable)],
        ("x",),
        "asked" if answerable else "unanswerable",
        group,
    )


def test_folds_are_whole_groups_reproducible_and_balanced() -> None:
    cases = [_case(f"doc{i % 10}", True) for i in range(40)] + [_case(f"un{i}", False) for i in range(5)]
    assignment = fold_of(cases, 5)
    assert set(assignment) == {c.group for c in cases} and fold_of(list(reversed(cases)), 5) == assignment
    answerable = [assignment[f"doc{i}"] for i in range(10)]
    assert sorted(answerable.count(f) for f in range(5)) == [2, 2, 2, 2, 2]
    assert sorted(assignment[f"un{i}"] for i in range(5)) == [0, 1, 2, 3, 4]


def test_pooled_figures_weight_each_fold_by_its_size() -> None:
    a = Figures(answerable=100, contains_gold=0.9, withheld=100, refused_withheld=0.8, ungrounded=1)
    b = Figures(answerable=300, contains_gold=0.5, withheld=100, refused_withheld=1.0, ungrounded=0)
    p = pooled([a, b])
    assert p.answerable == 400 and abs(p.contains_gold - 0.6) < 1e-9
    assert abs(p.refused_withheld - 0.9) < 1e-9 and p.ungrounded == 1


_FEATURES_OF_A_SEED = """
import sys
from pathlib import Path
from qa.answer.evidence import candidate_sentences, sentence_features
from qa.ingest import load_file
from qa.query import analyze
from qa.types import Passage, Signals

text = load_file(Path(sys.argv[1])).text
step = len(text) // 4
passages = [
    Passage(i, "d", "d.txt", "t", text[i * step : (i + 1) * step], i * step, (i + 1) * step, 1.0 / (i + 1), Signals())
    for i in range(4)
]
for question in ("房寺镇下放了多少项权力?", "房寺镇的城镇化率达到了多少?", "房寺镇建成区面积有多大?"):
    query = analyze(question)
    print(sentence_features(query, passages, candidate_sentences(passages)))
"""


def test_sentence_features_do_not_depend_on_the_hash_seed() -> None:
    # Sets of characters and bigrams iterate in an order set by PYTHONHASHSEED; features summed in that order
    # changed in their last bits from process to process, and `qa calibrate` fitted a different model each run.
    seed_file = next(iter(sorted(SEEDS.glob("*.txt"))))
    outputs = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", _FEATURES_OF_A_SEED, str(seed_file)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1
