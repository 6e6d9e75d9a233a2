"""What every embedding backend shares: the model's query/passage prompts, titles in front of passages, Chinese
in one script, and query micro-batching. A backend supplies `encode` (prompted strings → unit vectors) and `dim`.

Chinese in one script: traditional characters are simplified before embedding (`simplify`, on for every
collection made since; older collections keep embedding text as written, see `CollectionStore.embeds_simplified`).
Keyword search already folds both scripts into one; the embedder did not, and its cosines for a
traditional-script question and passage ran lower than for the same pair in simplified script (cmrc2018-trial
converted with OpenCC s2twp, intfloat/multilingual-e5-small: mean top cosine 0.900 against 0.909). The answer
model's refusal reads those cosines on the simplified scale it was fitted on, so it refused more answerable
traditional-script questions: 0.042 against 0.024 in simplified script, cross-validated; embedded in simplified
script, the same passages give a mean top cosine of 0.910 and refuse 0.031 (`bench/RESULTS.md`). Simplified text
is left as it is (14 of the 133,862 characters of the cmrc2018-trial passages change), so simplified collections
embed as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from qa.embed.batching import QueryBatcher
from qa.errors import InvalidInput
from qa.text import to_simplified

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


class PromptedEmbedder:
    """Asymmetric models like e5 were trained with "query: " / "passage: " prefixes and lose accuracy without
    them, so the model's own named prompts are put in front whenever it defines them.

    Queries of concurrent requests are encoded together (`QueryBatcher`): one model call for the queries
    that arrive within `batch_window_s` of each other, or while the previous call runs."""

    model_name: str
    dim: int

    def __init__(self, prompts: Mapping[str, str], *, embed_title: bool, batch_window_s: float | None) -> None:
        self._embed_title = embed_title
        query = next((prompts[p] for p in _QUERY_PROMPTS if prompts.get(p)), "")
        passage = next((prompts[p] for p in _PASSAGE_PROMPTS if prompts.get(p)), "")
        self._prompts = {role: value for role, value in (("query", query), ("passage", passage)) if value}
        self._batcher = None if batch_window_s is None else QueryBatcher(self.encode, window_s=batch_window_s)

    def encode(self, inputs: Sequence[str]) -> np.ndarray:
        """float32 (len(inputs), dim) unit vectors of the strings exactly as given (prompts already in)."""
        raise NotImplementedError

    @property
    def prompts(self) -> dict[str, str]:
        """The prefixes actually applied, e.g. {"query": "query: ", "passage": "passage: "}."""
        return dict(self._prompts)

    def passage_inputs(
        self, texts: Sequence[str], titles: Sequence[str] | None = None, *, simplify: bool = True
    ) -> list[str]:
        """The strings embedded for passages (before the model's passage prompt)."""
        inputs = list(texts) if titles is None or not self._embed_title else with_titles(texts, titles)
        return [to_simplified(text) for text in inputs] if simplify else inputs

    def embed_passages(
        self, texts: Sequence[str], titles: Sequence[str] | None = None, *, simplify: bool = True
    ) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        prompt = self._prompts.get("passage", "")
        return self.encode([prompt + text for text in self.passage_inputs(texts, titles, simplify=simplify)])

    def embed_query(self, text: str, *, simplify: bool = True) -> np.ndarray:
        prompted = self._prompts.get("query", "") + (to_simplified(text) if simplify else text)
        if self._batcher is not None:
            return self._batcher.encode(prompted)
        return self.encode([prompted])[0]

    def close(self) -> None:
        if self._batcher is not None:
            self._batcher.close()
