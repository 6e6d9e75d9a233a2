"""Sentence splitting and token-bounded chunking with exact offsets."""
