"""`qa ask` refuses what it cannot answer with a message and a non-zero exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import run_qa


@pytest.mark.parametrize("question", ["？！。。……", "🙂🙂🚀", "!!! ???"])
def test_question_without_letters_or_digits_is_refused(seed_index: Path, question: str) -> None:
    result = run_qa("ask", question, index_dir=seed_index)
    assert result.returncode != 0
    assert "no letter or digit" in result.stderr and not result.stdout
