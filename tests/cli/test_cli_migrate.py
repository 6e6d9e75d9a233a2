"""`qa migrate` between the embedded store and Milvus Lite, and the same answers from both (real CLI, real model)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import GOLDEN, REPO, copy_index, free_port, run_qa

MILVUS = {"QA_STORE": "milvus"}


def _documents(index_dir: Path, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    result = run_qa("documents", "--json", index_dir=index_dir, env=env)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def _eval(index_dir: Path, out: Path, env: dict[str, str] | None = None) -> tuple[dict[str, object], list[dict]]:
    result = run_qa("eval", str(GOLDEN), "--out", str(out), index_dir=index_dir, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return summary, rows


def test_migrate_there_and_back_gives_the_same_answers(seed_index: Path, tmp_path: Path) -> None:
    index_dir = copy_index(seed_index, tmp_path / "index")
    moved = run_qa("migrate", "--from", "embedded", "--to", "milvus", index_dir=index_dir)
    assert moved.returncode == 0, moved.stderr
    assert "copied 5 documents" in moved.stdout
    assert _documents(index_dir, MILVUS) == _documents(index_dir)
    again = run_qa("migrate", "--from", "embedded", "--to", "milvus", index_dir=index_dir)
    assert again.returncode == 0 and "copied 0 documents" in again.stdout and "unchanged 5" in again.stdout

    embedded, embedded_rows = _eval(index_dir, tmp_path / "eval-embedded")
    milvus, milvus_rows = _eval(index_dir, tmp_path / "eval-milvus", MILVUS)
    assert json.dumps(milvus["retrieval"]) == json.dumps(embedded["retrieval"])
    for mine, theirs in zip(milvus_rows, embedded_rows, strict=True):
        assert (mine["id"], mine["answer"], mine["citations"]) == (theirs["id"], theirs["answer"], theirs["citations"])

    back_dir = tmp_path / "back"
    lite = {"QA_MILVUS_URI": str(index_dir / "milvus.db")}
    back = run_qa("migrate", "--from", "milvus", "--to", "embedded", index_dir=back_dir, env=lite)
    assert back.returncode == 0, back.stderr
    assert _documents(back_dir) == _documents(index_dir)


def test_migrate_names_what_is_wrong(tmp_path: Path) -> None:
    same = run_qa("migrate", "--from", "milvus", "--to", "milvus", index_dir=tmp_path)
    assert same.returncode == 2 and "two different stores" in same.stderr
    missing = run_qa("migrate", "--from", "embedded", "--to", "milvus", "--collection", "nope", index_dir=tmp_path)
    assert missing.returncode == 2 and "collection 'nope' does not exist" in missing.stderr
    both = run_qa("migrate", "--from", "embedded", "--to", "milvus", "--all", "--collection", "x", index_dir=tmp_path)
    assert both.returncode == 2 and "--all copies every collection" in both.stderr
    bad_uri = run_qa("documents", index_dir=tmp_path, env={**MILVUS, "QA_MILVUS_URI": str(tmp_path / "folder")})
    assert bad_uri.returncode == 2 and "must end in .db" in bad_uri.stderr
    for uri, said in (
        ("ftp://127.0.0.1/x.db", "unsupported scheme 'ftp'"),
        ("/proc/nope/x.db", "cannot make its folder"),
    ):
        wrong = run_qa("documents", index_dir=tmp_path, env={**MILVUS, "QA_MILVUS_URI": uri})
        assert wrong.returncode == 2 and said in wrong.stderr and "Traceback" not in wrong.stderr, wrong.stderr
    assert not (REPO / "ftp:").exists()
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = run_qa("documents", index_dir=tmp_path, env={**MILVUS, "QA_MILVUS_URI": down})
    assert unreachable.returncode == 2 and f"cannot open Milvus at {down}" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
