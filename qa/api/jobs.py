"""Ingest off the request path: an upload waits for its own ingest, a larger one becomes a job to poll or cancel.

Every ingest runs on a small pool of threads of its own that drive the worker processes (`qa.worker`) and
write what they return; the threads that answer requests never parse or embed. At most
`QA_MAX_QUEUED_INGESTS` ingests wait or run at once (IngestBusy, a 503, beyond). Cancelling an ingest (a
DELETE of its job, the uploading client going away, the server shutting down) stops its worker task at once;
what was written before stays, what was not is never half-written (the store's transactions see to that).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request

from qa.api.responses import ErrorDetail, JobOut, JobProgress, StoredDocumentOut
from qa.api.routes.deps import until_disconnected
from qa.errors import IngestBusy, IngestCancelled, NotFound, QAError
from qa.service import IngestReport, QAService
from qa.worker import IngestControl, Source

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
_FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})
# finished jobs kept for polling: the most recent ones
_KEEP_FINISHED = 500


class JobNotFound(NotFound):
    code = "job_not_found"


def stored_documents(report: IngestReport) -> list[StoredDocumentOut]:
    status_of: dict[str, Literal["added", "updated"]] = {s: "added" for s in report.added}
    status_of.update({s: "updated" for s in report.updated})
    return [
        StoredDocumentOut(
            doc_id=d.doc_id,
            source=d.source,
            title=d.title,
            content_hash=d.content_hash,
            status=status_of.get(d.source, "unchanged"),
        )
        for d in report.documents
    ]


@dataclass(slots=True)
class Job:
    id: str
    collection: str
    control: IngestControl = field(repr=False)
    state: JobState = "queued"
    documents: list[StoredDocumentOut] | None = None
    error: ErrorDetail | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def view(self) -> JobOut:
        return JobOut(
            id=self.id,
            state=self.state,
            progress=JobProgress(done=self.control.done, total=self.control.total),
            documents=self.documents,
            error=self.error,
        )


class Ingests:
    def __init__(self, service: QAService, on_report: Callable[[IngestReport], None] | None = None) -> None:
        self._service = service
        self._on_report = on_report
        self._limit = service.settings.max_queued_ingests
        # Jobs and uploads waiting for their reply queue apart, so a small upload never waits for a long job to
        # end: its tasks take turns with the job's in the worker processes.
        workers = service.settings.ingest_workers
        self._job_threads = ThreadPoolExecutor(workers, thread_name_prefix="qa-ingest-job")
        self._upload_threads = ThreadPoolExecutor(workers, thread_name_prefix="qa-ingest-upload")
        self._lock = threading.Lock()
        self._active: set[IngestControl] = set()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def _admit(self, control: IngestControl) -> None:
        with self._lock:
            if len(self._active) >= self._limit:
                raise IngestBusy(
                    f"{len(self._active)} ingests are already waiting or running (QA_MAX_QUEUED_INGESTS): "
                    "retry when one has finished"
                )
            self._active.add(control)

    def _ingest(self, sources: Sequence[Source], collection: str, control: IngestControl) -> IngestReport:
        try:
            control.check()
            report = self._service.ingest_sources(sources, collection, control)
        finally:
            with self._lock:
                self._active.discard(control)
        if self._on_report is not None:
            self._on_report(report)
        return report

    async def run(self, sources: Sequence[Source], collection: str, request: Request) -> IngestReport:
        """Ingest now and wait for it; stopped if the client disconnects first (ClientGone)."""
        control = IngestControl()
        self._admit(control)
        try:
            future = self._upload_threads.submit(self._ingest, sources, collection, control)
        except RuntimeError:  # shutting down
            with self._lock:
                self._active.discard(control)
            raise IngestBusy("the server is shutting down") from None
        try:
            return await until_disconnected(request, asyncio.wrap_future(future))
        except BaseException:
            control.cancel()
            raise

    def start(self, sources: Sequence[Source], collection: str) -> Job:
        control = IngestControl()
        job = Job(id=uuid.uuid4().hex, collection=collection, control=control)
        control.add_work(0)
        self._admit(control)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        try:
            self._job_threads.submit(self._run_job, job, sources)
        except RuntimeError:  # shutting down
            with self._lock:
                self._active.discard(control)
                del self._jobs[job.id]
            raise IngestBusy("the server is shutting down") from None
        return job

    def _run_job(self, job: Job, sources: Sequence[Source]) -> None:
        try:
            if job.control.cancelled:
                raise IngestCancelled("cancelled before it started")
            job.state = "running"
            job.documents = stored_documents(self._ingest(sources, job.collection, job.control))
            job.state = "done"
        except IngestCancelled:
            job.state = "cancelled"
        except QAError as exc:
            job.error = ErrorDetail(code=exc.code, message=exc.message)
            job.state = "failed"
        except Exception:
            log.exception("ingest job failed", extra={"job": job.id})
            job.error = ErrorDetail(code="internal_error", message="internal error: the server logged the details")
            job.state = "failed"
        finally:
            with self._lock:
                self._active.discard(job.control)
            job.finished.set()

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state in _FINISHED]
        for job_id in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job '{job_id}' (finished jobs are kept for the most recent {_KEEP_FINISHED})")
        return job

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job and wait (briefly) until its work has stopped."""
        job = self.get(job_id)
        if job.state not in _FINISHED:
            job.control.cancel()
            if job.state == "queued":
                # its thread, when it comes, finds the control cancelled before any work: nothing to wait for
                # (waiting would last until the job ahead of it ends), and its place in the queue is free now
                job.state = "cancelled"
                with self._lock:
                    self._active.discard(job.control)
                return job
            await asyncio.to_thread(job.finished.wait, 10)
        return job

    async def close(self, timeout: float = 5.0) -> None:
        """Stop every ingest (for shutdown): cancel them, stop the worker processes, wait for the threads."""
        with self._lock:
            active = list(self._active)
        for control in active:
            control.cancel()
        pools = (self._job_threads, self._upload_threads)
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        started = time.monotonic()
        await asyncio.to_thread(self._service.close_worker)
        remaining = max(0.1, timeout - (time.monotonic() - started))

        def join() -> None:
            for pool in pools:
                pool.shutdown(wait=True)

        try:
            await asyncio.wait_for(asyncio.to_thread(join), remaining)
        except TimeoutError:
            log.warning("ingest threads still running at shutdown")
