"""The interface the index and retriever use, so the embedding backend can change without touching them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """`simplify`: embed Chinese text in simplified script (`qa.text.to_simplified`; see `qa.embed.prompted`).
    A collection records whether its passages were (`embeds_simplified`): its queries are embedded the same
    way, or their cosines would not compare."""

    model_name: str
    dim: int

    def embed_passages(
        self, texts: Sequence[str], titles: Sequence[str] | None = None, *, simplify: bool = True
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dim), rows L2-normalized; `titles[i]` belongs to `texts[i]`."""
        ...

    def embed_query(self, text: str, *, simplify: bool = True) -> np.ndarray:
        """float32 array of shape (dim,), L2-normalized. Safe to call from several threads at once."""
        ...

    def close(self) -> None:
        """Stop any thread the embedder started."""
        ...
