"""The fitted answer model: the sentence ranker, the span ranker and the refusal classifier in one file.

Every decision the extractive answerer makes (which sentence answers, which span of it is the short
answer, whether the passages answer at all) is a model fitted on data by `qa calibrate`, stored as one
versioned JSON file that names the embedding model it was fitted with: the refusal classifier reads the
embedder's cosine similarities, whose scale differs from model to model. The rankers are LightGBM
LambdaMART models (a choice among one question's candidates), kept in LightGBM's own text format inside
the file.

Where the file is found: `QA_ANSWER_MODEL` when set; else `<index dir>/calibration/<embedding model>.json`
written by `qa calibrate`; else the copy shipped in the package (fitted with the default embedding model). A
calibration this version cannot use (an earlier version's, fitted on other features, or a damaged file) is set
aside with a warning for the packaged model; a file named in `QA_ANSWER_MODEL` that cannot be used is an error.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError

log = logging.getLogger(__name__)

FORMAT = "qa-answer-model"
VERSION = 1
PACKAGED = "e5-small.json"


class AnswerModelError(QAError):
    code = "answer_model_invalid"
    status = 500


def model_slug(embedding_model: str) -> str:
    """A file name for an embedding model's name or folder path."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", embedding_model.strip("/")).strip("_") or "model"


@dataclass(frozen=True)
class Ranker:
    """A LightGBM model over named features; `score` gives a ranking score (or, for a binary classifier,
    the probability of the positive class)."""

    features: tuple[str, ...]
    text: str  # LightGBM's model text

    @cached_property
    def _booster(self) -> Any:
        import lightgbm

        return lightgbm.Booster(model_str=self.text)

    def score(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        return np.asarray(self._booster.predict(np.asarray(rows, dtype=np.float64), num_threads=1))

    def to_dict(self) -> dict[str, object]:
        return {"features": list(self.features), "lightgbm": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: Sequence[str]) -> Ranker:
        features = tuple(data["features"])
        if features != tuple(expected):
            missing = sorted(set(expected) - set(features))
            extra = sorted(set(features) - set(expected))
            raise AnswerModelError(
                "the answer model was fitted on other features than this version computes "
                f"(missing {missing}, unknown {extra}): run `qa calibrate` to refit it"
            )
        return cls(features, str(data["lightgbm"]))


@dataclass(frozen=True)
class AnswerModel:
    """Everything the extractive answerer decides with, fitted together on one set of data."""

    embedding_model: str
    sentence: Ranker
    span: Ranker
    refusal: Ranker
    # sentence scores are turned into probabilities with softmax(score / temperature)
    temperature: float
    # refuse below this probability that the passages answer the question
    threshold: float
    # quote sentences, most probable first, until their probability adds up to this
    coverage: float
    # kind of question → span type → share of gold answers of that kind with that type (`qa.answer.spans`)
    type_prior: dict[str, dict[str, float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "embedding_model": self.embedding_model,
            "temperature": round(self.temperature, 6),
            "threshold": round(self.threshold, 6),
            "coverage": self.coverage,
            "type_prior": self.type_prior,
            "meta": self.meta,
            "sentence": self.sentence.to_dict(),
            "span": self.span.to_dict(),
            "refusal": self.refusal.to_dict(),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{time.monotonic_ns()}")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written model

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerModel:
        from qa.answer.evidence import SENTENCE_FEATURES
        from qa.answer.refusal import REFUSAL_FEATURES
        from qa.answer.spans import SPAN_FEATURES

        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise AnswerModelError(
                f"not an answer model of version {VERSION} (format {data.get('format')!r}, "
                f"version {data.get('version')!r}): run `qa calibrate` to write one"
            )
        return cls(
            embedding_model=str(data["embedding_model"]),
            sentence=Ranker.from_dict(data["sentence"], SENTENCE_FEATURES),
            span=Ranker.from_dict(data["span"], SPAN_FEATURES),
            refusal=Ranker.from_dict(data["refusal"], REFUSAL_FEATURES),
            temperature=float(data["temperature"]),
            threshold=float(data["threshold"]),
            coverage=float(data["coverage"]),
            type_prior={k: {t: float(v) for t, v in d.items()} for k, d in data["type_prior"].items()},
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: Path) -> AnswerModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise AnswerModelError(f"answer model not found: {path}") from exc
        except (OSError, ValueError) as exc:
            raise AnswerModelError(f"cannot read the answer model {path}: {exc}") from exc
        return cls.from_dict(data)


def calibrated_path(index_dir: Path, embedding_model: str) -> Path:
    """Where `qa calibrate` writes the model for an embedding model, and where the service looks first."""
    return index_dir / "calibration" / f"{model_slug(embedding_model)}.json"


def packaged_path() -> Path:
    return Path(str(resources.files("qa.answer") / "models" / PACKAGED))


def resolve(configured: Path | None, index_dir: Path, embedding_model: str) -> AnswerModel:
    """The answer model the service uses (see the module docstring for the order). Warns when it was fitted
    with another embedding model than the configured one: its refusal threshold may not hold."""
    if configured is not None:
        path = configured
        model = AnswerModel.load(path)
    else:
        calibrated = calibrated_path(index_dir, embedding_model)
        path = calibrated if calibrated.is_file() else packaged_path()
        try:
            model = AnswerModel.load(path)
        except AnswerModelError as exc:
            if path == packaged_path():
                raise
            # a calibration written by an earlier version (its features differ after an upgrade) must not keep
            # the service from starting; a model named in QA_ANSWER_MODEL is the operator's explicit choice
            log.warning("%s: %s; answering with the packaged model until then", path, exc.message)
            path = packaged_path()
            model = AnswerModel.load(path)
    if model.embedding_model != embedding_model:
        log.warning(
            "the answer model %s was fitted with embedding model %r, not the configured %r: refusals and "
            "answers may be off; run `qa calibrate DATASET.jsonl` to fit one for this model",
            path,
            model.embedding_model,
            embedding_model,
        )
    return model
