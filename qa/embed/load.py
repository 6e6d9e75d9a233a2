"""Pick the embedding backend the settings name: `QA_EMBED_BACKEND` for questions, `QA_PASSAGE_EMBED_BACKEND` for
passages (both the same model, so their vectors compare)."""

from __future__ import annotations

from qa.config import Settings
from qa.embed.base import Embedder


def load_embedder(settings: Settings, *, role: str = "query") -> Embedder:
    """The embedder for `role` "query" (what the service searches with) or "passage" (what ingest stores)."""
    backend = settings.embed_backend if role == "query" else settings.passage_embed_backend
    if backend == "torch":
        from qa.embed.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings)
    from qa.embed.onnx_int8 import OnnxInt8Embedder, onnx_int8_folder
    from qa.runtime import embedding_threads

    return OnnxInt8Embedder(
        settings.embedding_model,
        onnx_int8_folder(settings.embedding_model, settings.cache_dir),
        batch_size=settings.embed_batch_size,
        embed_title=settings.embed_title,
        threads=embedding_threads(),
    )
