"""The sentence-transformers embedder in fp32 PyTorch (`QA_EMBED_BACKEND=torch`): the reference the faster
backends are measured against, and the backend for models the int8 export does not cover."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embed.offline_e5 import resolve_model
from qa.embed.prompted import PromptedEmbedder, with_titles
from qa.errors import ModelUnavailable

__all__ = ["SentenceTransformerEmbedder", "with_titles"]


class SentenceTransformerEmbedder(PromptedEmbedder):
    """`Embedder` over a local sentence-transformers model; the default is multilingual-e5-small."""

    def __init__(self, settings: Settings) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = settings.embedding_model
        self._batch_size = settings.embed_batch_size
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
        super().__init__(
            {name: prompt for name, prompt in (self._model.prompts or {}).items() if prompt},
            embed_title=settings.embed_title,
            batch_window_s=settings.query_batch_window_s,
        )

    def encode(self, inputs: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(
                list(inputs),
                batch_size=self._batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
