"""`python -m qa.embed.prepare`: build the offline model files once at set-up, so the first ingest, query
or test doesn't pay for it (and nothing is fetched at run time): the fp32 model folder, its int8 ONNX build
(when that backend is configured) and the tokenizer's BPE file."""

from __future__ import annotations

import sys
import time

from qa.chunk.tokens import tiktoken_encoding
from qa.config import Settings
from qa.embed.offline_e5 import resolve_model


def main() -> int:
    settings = Settings()
    started = time.perf_counter()
    model = resolve_model(settings.embedding_model, settings.cache_dir)
    ready = [str(model)]
    if "onnx-int8" in (settings.embed_backend, settings.passage_embed_backend):
        from qa.embed.onnx_int8 import onnx_int8_folder

        ready.append(str(onnx_int8_folder(settings.embedding_model, settings.cache_dir)))
    tiktoken_encoding(settings.tokenizer_encoding, settings.cache_dir)
    print(f"models ready in {time.perf_counter() - started:.1f} s: {', '.join(ready)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
