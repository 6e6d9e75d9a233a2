"""Documents of a collection: upload (multipart files or JSON text), list, get with text, delete."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from qa.api.jobs import Ingests, stored_documents
from qa.api.responses import (
    ERRORS,
    Deleted,
    DocumentList,
    DocumentOut,
    DocumentSummary,
    ErrorResponse,
    JobResponse,
    UploadResponse,
)
from qa.api.routes.deps import ClientGone, collection_name, service, settings
from qa.api.schemas import TextDocument
from qa.errors import FileTooLarge, InvalidInput, InvalidRequest, MalformedJson, UnsupportedFile
from qa.ingest import SUPPORTED_SUFFIXES, clean_name
from qa.worker import Source

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
    """An uploaded name is only ever a label: drop any directory part, in either path syntax, and control
    characters."""
    name = clean_name(PureWindowsPath(PurePosixPath(clean_name(filename)).name).name).lstrip(".")
    if not name:
        raise InvalidInput(f"unusable file name {filename!r}")
    return name[:255]


async def _read_upload(request: Request) -> list[Source]:
    limit = settings(request).max_upload_bytes
    form = await request.form(max_files=100, max_fields=100)
    try:
        uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not uploads:
            raise InvalidInput("no file in the multipart body: send one or more parts named 'files'")
        sources = []
        named: dict[str, int] = {}
        for number, upload in enumerate(uploads, start=1):
            name = _safe_name(upload.filename or "")
            if name in named:
                # a document is known by its name: the second would silently replace the first
                raise InvalidInput(
                    f"files {named[name]} and {number} of the upload are both named {name!r}, and the second would "
                    "replace the first: rename one, or upload them to different collections"
                )
            named[name] = number
            suffix = PurePosixPath(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise UnsupportedFile(f"{name}: unsupported file type {suffix or '(none)'}; supported: {supported}")
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise FileTooLarge(f"{name} is larger than the upload limit of {limit:,} bytes (QA_MAX_UPLOAD_BYTES)")
            sources.append(Source(name=name, source=name, data=data))
        return sources
    finally:
        await form.close()


async def _read_json(request: Request) -> list[Source]:
    try:
        body = TextDocument.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            reason = first.get("ctx", {}).get("error", "")
            raise MalformedJson(f"the request body is not valid JSON: {reason}".strip()) from exc
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidRequest(f"{where}: {first.get('msg', 'invalid')}") from exc
    label = clean_name(body.source or body.id or "") or "the posted text"
    return [Source(name=label, source=body.source, text=body.text, title=body.title, doc_id=body.id)]


@router.post(
    "/v1/collections/{name}/documents",
    status_code=201,
    summary="Upload documents (multipart files, or JSON text)",
    description=(
        "Uploads of up to `QA_JOB_THRESHOLD_BYTES` in all (default 1 MB) are stored before the reply (201). "
        "Larger ones answer 202 with a job at once and are ingested in the background: poll "
        "`GET /v1/jobs/{id}`, cancel with `DELETE /v1/jobs/{id}`. A file over a per-file limit is a 413 "
        "naming the limit; a damaged one a 422."
    ),
    openapi_extra=_UPLOAD_BODY,
    response_model=UploadResponse,
    responses={
        201: {"description": "Stored (or already stored unchanged)"},
        202: {"model": JobResponse, "description": "Accepted as a job"},
        503: {"model": ErrorResponse, "description": "Too many ingests waiting (QA_MAX_QUEUED_INGESTS)"},
    },
)
async def upload(name: str, request: Request) -> object:
    collection = collection_name(request, name)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        sources = await _read_upload(request)
    elif content_type.startswith("application/json"):
        sources = await _read_json(request)
    else:
        raise UnsupportedFile("send multipart/form-data with files, or application/json with {'text': ...}")
    ingests: Ingests = request.app.state.ingests
    if sum(s.size for s in sources) > settings(request).job_threshold_bytes:
        job = ingests.start(sources, collection)
        return JSONResponse(
            JobResponse(job=job.view()).model_dump(mode="json", exclude_none=True),
            status_code=202,
            headers={"Location": f"/v1/jobs/{job.id}"},
        )
    try:
        report = await ingests.run(sources, collection, request)
    except ClientGone:
        return Response(status_code=ClientGone.status)
    return UploadResponse(documents=stored_documents(report))


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
