"""Documents of a collection: upload (multipart files or JSON text), list, get with text, delete."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from qa.api.responses import (
    ERRORS,
    Deleted,
    DocumentList,
    DocumentOut,
    DocumentSummary,
    StoredDocumentOut,
    UploadResponse,
)
from qa.api.routes.deps import collection_name, service, settings
from qa.api.schemas import TextDocument
from qa.errors import InvalidInput, UnsupportedFile
from qa.ingest import SUPPORTED_SUFFIXES, load_bytes, load_text
from qa.service import IngestReport
from qa.types import Document

router = APIRouter(tags=["documents"], responses=ERRORS)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    "required": ["files"],
                }
            },
            "application/json": {"schema": TextDocument.model_json_schema()},
        },
    }
}


def _safe_name(filename: str) -> str:
    """An uploaded name is only ever a label: drop any directory part, in either path syntax."""
    name = PureWindowsPath(PurePosixPath(filename).name).name.strip().lstrip(".")
    if not name:
        raise InvalidInput(f"unusable file name {filename!r}")
    return name[:255]


async def _read_upload(request: Request) -> list[Document]:
    limit = settings(request).max_upload_bytes
    form = await request.form(max_files=100, max_fields=100)
    try:
        uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not uploads:
            raise InvalidInput("no file in the multipart body: send one or more parts named 'files'")
        docs = []
        for upload in uploads:
            name = _safe_name(upload.filename or "")
            suffix = PurePosixPath(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise UnsupportedFile(f"{name}: unsupported file type {suffix or '(none)'}; supported: {supported}")
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise InvalidInput(f"{name} is larger than the upload limit of {limit} bytes (QA_MAX_UPLOAD_BYTES)")
            docs.append(await asyncio.to_thread(load_bytes, data, name))
        return docs
    finally:
        await form.close()


async def _read_json(request: Request) -> list[Document]:
    try:
        body = TextDocument.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            raise InvalidInput("the request body is not valid JSON") from exc
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidInput(f"{where}: {first.get('msg', 'invalid')}") from exc
    return [load_text(body.text, title=body.title, source=body.source, doc_id=body.id)]


@router.post(
    "/v1/collections/{name}/documents",
    status_code=201,
    summary="Upload documents (multipart files, or JSON text)",
    openapi_extra=_UPLOAD_BODY,
    response_model=UploadResponse,
    responses={201: {"description": "Stored (or already stored unchanged)"}},
)
async def upload(name: str, request: Request) -> UploadResponse:
    collection = collection_name(request, name)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        docs = await _read_upload(request)
    elif content_type.startswith("application/json"):
        docs = await _read_json(request)
    else:
        raise UnsupportedFile("send multipart/form-data with files, or application/json with {'text': ...}")
    svc = service(request)
    report: IngestReport = await asyncio.to_thread(svc.ingest_documents, docs, collection)
    metrics = request.app.state.metrics
    for status, items in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)):
        if items:
            metrics.ingested.labels(status).inc(len(items))
    metrics.ingested_chunks.inc(report.chunks)
    status_of = {s: "added" for s in report.added} | {s: "updated" for s in report.updated}
    return UploadResponse(
        documents=[
            StoredDocumentOut(
                doc_id=d.doc_id,
                source=d.source,
                title=d.title,
                content_hash=d.content_hash,
                status=status_of.get(d.source, "unchanged"),  # type: ignore[arg-type]
            )
            for d in report.documents
        ]
    )


@router.get("/v1/collections/{name}/documents", summary="List documents", response_model=DocumentList)
async def list_documents(name: str, request: Request) -> DocumentList:
    docs = await asyncio.to_thread(service(request).list_documents, collection_name(request, name))
    return DocumentList(
        documents=[
            DocumentSummary(
                doc_id=d.doc_id,
                source=d.source,
                title=d.title,
                content_hash=d.content_hash,
                chunks=d.n_chunks,
                added_at=d.added_at,
                updated_at=d.updated_at,
            )
            for d in docs
        ]
    )


@router.get(
    "/v1/collections/{name}/documents/{doc_id}",
    summary="One document with its stored text",
    response_model=DocumentOut,
)
async def get_document(name: str, doc_id: str, request: Request) -> DocumentOut:
    doc = await asyncio.to_thread(service(request).get_document, collection_name(request, name), doc_id)
    return DocumentOut(
        doc_id=doc.doc_id, source=doc.source, title=doc.title, content_hash=doc.content_hash, text=doc.text
    )


@router.delete(
    "/v1/collections/{name}/documents/{doc_id}",
    summary="Delete a document from every index",
    response_model=Deleted,
)
async def delete_document(name: str, doc_id: str, request: Request) -> Deleted:
    await asyncio.to_thread(service(request).delete_document, collection_name(request, name), doc_id)
    return Deleted(deleted=doc_id)
