"""Pick the store backend the settings name (`QA_STORE`). Milvus is imported only when it is selected."""

from __future__ import annotations

from collections.abc import Callable

from qa.config import Settings
from qa.index.collection import EmbeddedBackend
from qa.index.store import StoreBackend
from qa.index.vectors import IndexPolicy


def make_backend(settings: Settings, dim: Callable[[], int], *, store: str | None = None) -> StoreBackend:
    """The backend for `store` (default: the configured one). `dim` is asked only when a collection is created,
    so listing or reading never loads the embedding model."""
    kind = store or settings.store
    if kind == "milvus":
        from qa.index.milvus import MilvusBackend

        return MilvusBackend.from_settings(settings, dim)
    if kind != "embedded":
        raise ValueError(f"unknown store {kind!r}: use embedded or milvus")
    return EmbeddedBackend(
        settings.index_dir,
        model_name=settings.embedding_model,
        dim=dim,
        vector_policy=IndexPolicy(kind=settings.vector_index, flat_max=settings.vector_flat_max),
    )
