"""Embeddings: the Embedder protocol, the offline multilingual-e5-small build, the sentence-transformers embedder."""
