"""`qa ingest` progress on stderr: files loaded, then chunks embedded, with rate and time left."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.support import SEEDS, run_qa

# the rate reads "3.2file/s", or "1.30s/file" when slower than one a second
_BAR = re.compile(
    r"(load|embed):\s+\d+%\|[^|]*\|\s*(\d+)/(\d+) \[[^<\]]*<[^,\]]*,\s*[^\]]*?(?:s/)?(file|chunk)(?:/s)?\]"
)


def _bars(stderr: str) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {"load": [], "embed": []}
    for name, done, total, _ in _BAR.findall(stderr.replace("\r", "\n")):
        found[name].append((int(done), int(total)))
    return found


def test_ingest_progress_follows_the_chunks_embedded(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(path, corpus / path.name)
    # small model batches, so a two-document corpus still embeds in several steps
    env = {"QA_EMBED_BATCH_SIZE": "4"}
    first = run_qa("ingest", str(corpus), index_dir=tmp_path / "index", env=env)
    assert first.returncode == 0, first.stderr
    chunks = int(re.search(r"(\d+) chunks written", first.stdout).group(1))  # type: ignore[union-attr]
    bars = _bars(first.stderr)
    assert bars["load"][-1] == (2, 2), first.stderr
    embed = bars["embed"]
    assert embed[-1] == (chunks, chunks), first.stderr
    # the bar moves as chunks are embedded, not once at the end
    assert any(0 < done < chunks for done, _ in embed), first.stderr
    assert [done for done, _ in embed] == sorted(done for done, _ in embed)

    again = run_qa("ingest", str(corpus), index_dir=tmp_path / "index", env=env)
    assert again.returncode == 0 and "0 chunks written" in again.stdout, again.stderr
    assert not _bars(again.stderr)["embed"], again.stderr  # nothing to embed, no embedding bar
