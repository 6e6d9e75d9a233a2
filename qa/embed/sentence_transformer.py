"""The sentence-transformers embedder (CPU, offline).

Asymmetric models like e5 were trained with "query: " / "passage: " prefixes and lose accuracy without
them, so the model's own named prompts are used whenever it defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embed.offline_e5 import resolve_model
from qa.errors import InvalidInput, ModelUnavailable

_QUERY_PROMPTS = ("query",)
_PASSAGE_PROMPTS = ("passage", "document")


def with_titles(texts: Sequence[str], titles: Sequence[str]) -> list[str]:
    """Put each passage's title in front of it, unless the passage already starts with it.

    Measured on the seeds: a chunk that never names its subject (a town, a product) was missed by dense
    search for a question that does; with the document title in front it ranked first.
    """
    if len(titles) != len(texts):
        raise InvalidInput(f"got {len(titles)} titles for {len(texts)} passages")
    out: list[str] = []
    for text, raw_title in zip(texts, titles, strict=True):
        title = (raw_title or "").strip()
        out.append(f"{title}\n{text}" if title and not text.startswith(title) else text)
    return out


class SentenceTransformerEmbedder:
    """`Embedder` over a local sentence-transformers model; the default is multilingual-e5-small."""

    def __init__(self, settings: Settings) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = settings.embedding_model
        self._batch_size = settings.embed_batch_size
        self._embed_title = settings.embed_title
        location = resolve_model(settings.embedding_model, settings.cache_dir)
        try:
            self._model = SentenceTransformer(
                str(location),
                device="cpu",
                local_files_only=True,
                cache_folder=str(Path(settings.cache_dir) / "hf"),
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"could not load embedding model {settings.embedding_model!r} from {location}: {exc}"
            ) from exc
        self._model.eval()
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelUnavailable(f"embedding model {settings.embedding_model!r} does not report its dimension")
        self.dim: int = int(dim)
        prompts = self._model.prompts or {}
        self._query_prompt = next((p for p in _QUERY_PROMPTS if prompts.get(p)), None)
        self._passage_prompt = next((p for p in _PASSAGE_PROMPTS if prompts.get(p)), None)

    @property
    def prompts(self) -> dict[str, str]:
        """The prefixes actually applied, e.g. {"query": "query: ", "passage": "passage: "}."""
        prompts = self._model.prompts or {}
        out: dict[str, str] = {}
        for role, name in (("query", self._query_prompt), ("passage", self._passage_prompt)):
            value = prompts.get(name) if name else None
            if value:
                out[role] = value
        return out

    def passage_inputs(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> list[str]:
        """The strings embedded for passages (before the model's passage prompt)."""
        if titles is None or not self._embed_title:
            return list(texts)
        return with_titles(texts, titles)

    def _encode(self, inputs: list[str], prompt_name: str | None) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(
                inputs,
                prompt_name=prompt_name,
                batch_size=self._batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(self.passage_inputs(texts, titles), self._passage_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt)[0]
