"""`qa calibrate`: refits the answer model over a collection, prints before/after figures, writes the model
where `qa ask` finds it, and rejects bad arguments with a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.answer.model import AnswerModel, calibrated_path
from qa.config import DEFAULT_EMBEDDING_MODEL
from tests.support import GOLDEN, SAMPLE, copy_index, run_qa


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample set under another name: questions over the sample corpus, enough to fit on."""
    path = tmp_path_factory.mktemp("calibrate") / "slice.jsonl"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_calibrate_writes_a_model_the_service_then_uses(seed_index: Path, tmp_path: Path, dataset: Path) -> None:
    index = copy_index(seed_index, tmp_path / "index")
    result = run_qa("calibrate", str(dataset), "--folds", "2", index_dir=index)
    assert result.returncode == 0, result.stderr
    # before, each fold and the pooled figures, side by side
    assert "slice.jsonl: before (model in use)" in result.stdout
    assert "slice.jsonl: after, fold 1" in result.stdout and "slice.jsonl: after, 2-fold pooled" in result.stdout
    target = calibrated_path(index, DEFAULT_EMBEDDING_MODEL)
    model = AnswerModel.load(target)
    assert model.embedding_model == DEFAULT_EMBEDDING_MODEL
    assert model.meta["fitted_on"] == [str(dataset)] and model.meta["questions"] == 119
    assert set(model.meta["cross_validated"]) == {
        "slice.jsonl: after, fold 1",
        "slice.jsonl: after, fold 2",
        "slice.jsonl: after, 2-fold pooled",
    }

    # the service answers with the model `--out` names when QA_ANSWER_MODEL points at it
    out = tmp_path / "model.json"
    again = run_qa("calibrate", str(dataset), "--folds", "0", "--out", str(out), index_dir=index)
    assert again.returncode == 0, again.stderr and out.is_file()
    asked = run_qa("ask", "房寺镇下放了多少项权力?", "--json", index_dir=index, env={"QA_ANSWER_MODEL": str(out)})
    assert asked.returncode == 0, asked.stderr
    body = json.loads(asked.stdout)
    assert set(body) >= {"answer", "found", "citations", "short_answer", "question"}


def test_calibrate_rejects_bad_arguments(seed_index: Path, tmp_path: Path) -> None:
    # too few questions to fit on: a message, not a traceback
    result = run_qa("calibrate", str(GOLDEN), "--folds", "0", index_dir=seed_index)
    assert result.returncode == 2 and "too little to fit" in result.stderr and "Traceback" not in result.stderr
    result = run_qa("calibrate", str(GOLDEN), "--folds", "1", index_dir=seed_index)
    assert result.returncode != 0 and "--folds" in result.stderr
    result = run_qa("calibrate", str(tmp_path / "missing.jsonl"), "--folds", "0", index_dir=seed_index)
    assert result.returncode != 0 and "not found" in result.stderr
    result = run_qa("calibrate", str(GOLDEN), "--folds", "0", index_dir=tmp_path / "empty")
    assert result.returncode != 0 and "default" in result.stderr
