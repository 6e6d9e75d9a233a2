"""`qa eval` and `qa calibrate` as a user runs them: bad arguments are refused before any question is asked."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import GOLDEN, run_qa


def test_eval_refuses_a_report_path_it_cannot_use_before_asking_anything(tmp_path: Path) -> None:
    taken = tmp_path / "report"
    taken.write_text("a file, not a folder")
    # no collection in this index: the report folder is checked before anything else is opened or asked
    result = run_qa("eval", str(GOLDEN), "--out", str(taken), index_dir=tmp_path / "index")
    assert result.returncode != 0
    assert f"cannot create report folder {taken}" in result.stderr, result.stderr
    assert taken.read_text() == "a file, not a folder"


def test_calibrate_refuses_a_folder_for_the_model_file_before_asking_anything(tmp_path: Path) -> None:
    result = run_qa("calibrate", str(GOLDEN), "--out", str(tmp_path), index_dir=tmp_path / "index")
    assert result.returncode != 0
    assert f"--out {tmp_path} is a folder" in result.stderr, result.stderr


def test_eval_lists_wrong_answers_and_warns_of_docs_the_collection_lacks(seed_index: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "set.jsonl"
    items = [
        # answered, but not with this gold span: a failure even though the set gives no expect_all
        {"id": "wrong", "question": "房寺镇下放了多少项权力?", "answers": ["9999项"]},
        {"id": "typo", "question": "房寺镇下放了多少项权力?", "docs": ["no-such-document"]},
    ]
    dataset.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    result = run_qa("eval", str(dataset), index_dir=seed_index)
    assert result.returncode == 0, result.stderr
    assert "docs name no document of collection 'default': no-such-document" in result.stderr
    assert "failed (2): wrong, typo" in result.stdout, result.stdout


def test_eval_refuses_a_question_with_no_letter_or_digit(tmp_path: Path) -> None:
    dataset = tmp_path / "set.jsonl"
    dataset.write_text(json.dumps({"id": "q", "question": "???", "unanswerable": True}) + "\n", encoding="utf-8")
    result = run_qa("eval", str(dataset), index_dir=tmp_path / "index")
    assert result.returncode != 0 and "no letter or digit" in result.stderr, result.stderr
