"""`qa eval` and `qa calibrate` as a user runs them: bad arguments are refused before any question is asked."""

from __future__ import annotations

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
