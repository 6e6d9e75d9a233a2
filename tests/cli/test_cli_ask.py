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


def test_ask_through_the_onnx_backend_never_loads_torch(seed_index: Path) -> None:
    """Questions are embedded by ONNX Runtime by default: importing torch would add over a second to every
    `qa ask` and `qa search` for nothing."""
    import subprocess
    import sys

    from tests.support import REPO, qa_env

    script = (
        "import sys; from qa.cli import main; code = main(sys.argv[1:]); "
        "print('torch loaded' if 'torch' in sys.modules else 'no torch', file=sys.stderr); sys.exit(code)"
    )
    for backend, expected in (("onnx-int8", "no torch"), ("torch", "torch loaded")):
        result = subprocess.run(
            [sys.executable, "-c", script, "ask", "房寺镇下放了多少项权力?"],
            cwd=REPO,
            env=qa_env(seed_index, {"QA_EMBED_BACKEND": backend}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "64" in result.stdout and result.stderr.strip().endswith(expected), (backend, result.stderr[-500:])


def test_an_empty_collection_name_is_refused_not_taken_for_the_default(seed_index: Path) -> None:
    result = run_qa("ask", "房寺镇下放了多少项权力?", "--collection", "", index_dir=seed_index)
    assert result.returncode != 0 and "invalid collection name" in result.stderr and not result.stdout
