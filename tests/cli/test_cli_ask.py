"""`qa ask` refuses what it cannot answer with a message and a non-zero exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_qa


@pytest.mark.parametrize("question", ["？！。。……", "🙂🙂🚀", "!!! ???"])
def test_question_without_letters_or_digits_is_refused(seed_index: Path, question: str) -> None:
    result = run_qa("ask", question, index_dir=seed_index)
    assert result.returncode != 0
    assert "no letter or digit" in result.stderr and not result.stdout


def test_ask_json_is_the_http_body(seed_index: Path) -> None:
    from qa.api.responses import AskResponse

    result = run_qa("ask", "房寺镇下放了多少项权力?", "--json", index_dir=seed_index)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == set(AskResponse.model_fields)
    assert body["question"] == "房寺镇下放了多少项权力?" and body["found"] and "64" in body["answer"]
