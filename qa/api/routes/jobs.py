"""Background ingest jobs: their state and progress, and cancelling them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qa.api.jobs import Ingests
from qa.api.responses import ERRORS, JobOut

router = APIRouter(tags=["documents"], responses=ERRORS)


def _ingests(request: Request) -> Ingests:
    ingests: Ingests = request.app.state.ingests
    return ingests


@router.get(
    "/v1/jobs/{job_id}",
    summary="An ingest job's state and progress",
    response_model=JobOut,
    response_model_exclude_none=True,
)
async def get_job(job_id: str, request: Request) -> JobOut:
    return _ingests(request).get(job_id).view()


@router.delete(
    "/v1/jobs/{job_id}",
    summary="Cancel an ingest job (its work stops; a finished job is left as it is)",
    response_model=JobOut,
    response_model_exclude_none=True,
)
async def cancel_job(job_id: str, request: Request) -> JobOut:
    job = await _ingests(request).cancel(job_id)
    return job.view()
