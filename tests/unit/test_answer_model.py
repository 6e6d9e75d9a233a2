"""The answer model file: versioned, names its embedding model, found where the service looks for it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from qa.answer.fit import RISING
from qa.answer.model import AnswerModel, AnswerModelError, calibrated_path, packaged_path, resolve
from qa.config import DEFAULT_EMBEDDING_MODEL


def test_the_packaged_model_loads_and_names_its_embedding_model() -> None:
    model = AnswerModel.load(packaged_path())
    assert model.embedding_model == DEFAULT_EMBEDDING_MODEL
    assert 0.0 < model.threshold < 1.0 and model.temperature > 0.0
    assert 0.0 < model.coverage <= 1.0
    assert model.meta["fitted_on"], "the file says what it was fitted on"


def test_the_packaged_refusal_rises_with_the_rankers_verdicts() -> None:
    """However the other measurements stand, a better-scored best answer never makes the packaged refusal classifier
    less sure that the passages answer (`qa.answer.fit.RISING`): rows drawn across each feature's range, then each
    verdict swept from low to high."""
    model = AnswerModel.load(packaged_path())
    features = model.refusal.features
    rng = np.random.default_rng(0)
    rows = rng.uniform(0.0, 1.0, size=(200, len(features))) * rng.choice([1.0, 5.0, 20.0], size=(200, len(features)))
    for name in RISING:
        column = features.index(name)
        sweep = np.linspace(-5.0, 5.0, 41) if name != "best_probability" else np.linspace(0.0, 1.0, 41)
        for row in rows:
            grid = np.repeat(row[None, :], len(sweep), axis=0)
            grid[:, column] = sweep
            probabilities = model.refusal.score(grid.tolist())
            assert np.all(np.diff(probabilities) >= -1e-12), name


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = AnswerModel.load(packaged_path())
    target = tmp_path / "m.json"
    model.save(target)
    assert AnswerModel.load(target).to_dict() == model.to_dict()
    assert not list(tmp_path.glob("*.tmp*")), "written through a temporary file, then renamed"


def test_another_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    data = AnswerModel.load(packaged_path()).to_dict()
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({**data, "version": 0}), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="qa calibrate"):
        AnswerModel.load(bad)


def test_a_model_fitted_on_other_features_is_refused(tmp_path: Path) -> None:
    data = AnswerModel.load(packaged_path()).to_dict()
    sentence = dict(data["sentence"])  # type: ignore[call-overload]
    sentence["features"] = [*sentence["features"][:-1], "something_else"]
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({**data, "sentence": sentence}), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="other features"):
        AnswerModel.load(bad)


def test_unreadable_and_missing_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(AnswerModelError, match="not found"):
        AnswerModel.load(tmp_path / "missing.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    with pytest.raises(AnswerModelError, match="cannot read"):
        AnswerModel.load(garbage)


def test_a_calibrated_model_wins_over_the_packaged_one(tmp_path: Path) -> None:
    model = AnswerModel.load(packaged_path())
    calibrated = AnswerModel(**{**model.__dict__, "threshold": 0.123})
    calibrated.save(calibrated_path(tmp_path, DEFAULT_EMBEDDING_MODEL))
    assert resolve(None, tmp_path, DEFAULT_EMBEDDING_MODEL).threshold == 0.123
    assert resolve(None, tmp_path / "empty", DEFAULT_EMBEDDING_MODEL).threshold == model.threshold


def test_a_calibration_an_earlier_version_wrote_falls_back_to_the_packaged_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = AnswerModel.load(packaged_path()).to_dict()
    refusal = dict(data["refusal"])  # type: ignore[call-overload]
    refusal["features"] = [*refusal["features"][:-1], "a_feature_of_old"]
    stale = calibrated_path(tmp_path, DEFAULT_EMBEDDING_MODEL)
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({**data, "refusal": refusal}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.answer.model"):
        model = resolve(None, tmp_path, DEFAULT_EMBEDDING_MODEL)
    assert model.to_dict() == AnswerModel.load(packaged_path()).to_dict()
    assert "other features" in caplog.text and "qa calibrate" in caplog.text and "packaged model" in caplog.text
    with pytest.raises(AnswerModelError, match="other features"):
        resolve(stale, tmp_path, DEFAULT_EMBEDDING_MODEL)  # named explicitly: the operator's choice, an error
    stale.write_text("{damaged", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="qa.answer.model"):
        assert resolve(None, tmp_path, DEFAULT_EMBEDDING_MODEL).to_dict() == model.to_dict()
    assert "cannot read" in caplog.text and str(stale) in caplog.text


def test_another_embedding_model_without_calibration_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="qa.answer.model"):
        resolve(None, tmp_path, "some/other-model")
    assert "qa calibrate" in caplog.text and "some/other-model" in caplog.text
