"""The HTTP service (FastAPI): REST, OpenAI-compatible chat, documents, metrics and the chat widget."""
