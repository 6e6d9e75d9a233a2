"""Typed errors. Each carries a stable `code` for the HTTP error body and a message a user can act on."""

from __future__ import annotations


class QAError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(QAError):
    code = "invalid_input"
    status = 400


class InvalidRequest(InvalidInput):
    """A JSON body of the wrong shape: the status and code FastAPI's own validation gives every JSON route."""

    code = "invalid_request"
    status = 422


class MalformedJson(InvalidInput):
    code = "malformed_json"
    status = 400


class InvalidQuestion(InvalidInput):
    code = "invalid_question"
    status = 422


class InvalidHistory(InvalidInput):
    code = "invalid_history"
    status = 422


class UnsupportedFile(QAError):
    code = "unsupported_file"
    status = 415


class UnreadableFile(QAError):
    code = "unreadable_file"
    status = 422


class EmptyDocument(UnreadableFile):
    code = "empty_document"


class FileTooLarge(QAError):
    """A file over one of the per-file limits (size unpacked, pages, characters, passages, time to read)."""

    code = "file_too_large"
    status = 413


class ParseTimeout(FileTooLarge):
    code = "parse_timeout"


class DocumentIdTaken(QAError):
    code = "document_id_taken"
    status = 409


class IngestCancelled(QAError):
    code = "cancelled"
    status = 409


class IngestBusy(QAError):
    code = "ingest_busy"
    status = 503


class NotFound(QAError):
    code = "not_found"
    status = 404


class CollectionNotFound(NotFound):
    code = "collection_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class IndexCorrupted(QAError):
    code = "index_corrupted"
    status = 500


class StoreUnavailable(QAError):
    """The store's server (Milvus) cannot be reached or refused a request."""

    code = "store_unavailable"
    status = 503


class ModelUnavailable(QAError):
    code = "model_unavailable"
    status = 503


class LLMUnavailable(QAError):
    """The LLM endpoint is down, timed out or answered garbage; callers fall back to extractive."""

    code = "llm_unavailable"
    status = 503
