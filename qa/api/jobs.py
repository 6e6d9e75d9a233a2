"""Ingest off the request path: an upload waits for its own ingest, a larger one becomes a job to poll or cancel.

Every ingest runs on a small pool of threads of its own that drive the worker processes (`qa.worker`) and
write what they return; the threads that answer requests never parse or embed. At most
`QA_MAX_QUEUED_INGESTS` ingests wait or run at once (IngestBusy, a 503, beyond). Cancelling an ingest (a
DELETE of its job, the uploading client going away, the server shutting down) stops its worker task at once;
what was written before stays, what was not is never half-written (the store's transactions see to that).

A job's state is also written to `<index dir>/_jobs/<id>.json` at each change, so that a job the server accepted
is never forgotten: polled after a restart, a job the server stopped in (shut down, or killed) reads `failed`
with the code `interrupted`, and a finished one reads as it ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import Request
from pydantic import ValidationError

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
_JOB_ID = re.compile(r"[0-9a-f]{32}")
# a running job's record is rewritten this often (progress included), and one not rewritten for `STALE_S` belongs
# to a server that has stopped
BEAT_S = 5.0
STALE_S = 30.0
INTERRUPTED = "interrupted"
_INTERRUPTED_MESSAGE = (
    "the server stopped before this job finished: upload the files again (an upload stores all its files or none)"
)


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


def _gone(host: str, pid: int, age_s: float) -> bool:
    """Whether the process that last wrote an unfinished job's record has stopped without finishing it: one of this
    host that no longer runs, or any whose record has gone unrefreshed for `STALE_S` (a running job's record is
    rewritten every `BEAT_S`; a container recreated after a kill has another host name, and replicas sharing the
    records run on other hosts)."""
    if age_s > STALE_S:
        return True
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return True  # written by an earlier process with this pid: a pid reused after a restart
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class JobRecords:
    """Job states on disk, one small JSON file a job, each replaced whole (written to a temporary file, then
    renamed over it) at every change and every `BEAT_S` while the job runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()  # one writer at a time: a job's thread and the request threads both write
        # jobs whose final state this process wrote: a refresh that read the job just before it ended must not
        # write it back as running
        self._ended: dict[str, None] = {}  # insertion-ordered, trimmed to the most recent

    def _path(self, job_id: str) -> Path | None:
        # a job id comes from a URL: only the ids this module makes name a file
        return self.folder / f"{job_id}.json" if _JOB_ID.fullmatch(job_id) else None

    def write(self, view: JobOut) -> None:
        path = self._path(view.id)
        if path is None:
            return
        job = view.model_dump(mode="json", exclude_none=True)
        data = json.dumps({"job": job, "host": socket.gethostname(), "pid": os.getpid()}, ensure_ascii=False)
        with self._lock:
            if view.id in self._ended:
                return
            if view.state in _FINISHED:
                self._ended[view.id] = None
                for old in list(self._ended)[: max(0, len(self._ended) - _KEEP_FINISHED)]:
                    del self._ended[old]
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd, partial = tempfile.mkstemp(dir=self.folder, prefix=f".{view.id}.", suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                os.replace(partial, path)
            except OSError as exc:  # a poll still answers from memory; only a restart would lose the job
                log.warning("cannot write the record of job %s: %s", view.id, exc)

    def read(self, job_id: str) -> JobOut | None:
        """The job as last written, interrupted if its process has gone meanwhile; None when unknown."""
        path = self._path(job_id)
        loaded = self._load(path) if path is not None else None
        if loaded is None:
            return None
        view, gone = loaded
        return interrupted(view) if gone else view

    @staticmethod
    def _load(path: Path) -> tuple[JobOut, bool] | None:
        """(the job as written, whether it is unfinished and its process has gone), None when unreadable."""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            view = JobOut.model_validate(record["job"])
            host, pid, age = str(record["host"]), int(record["pid"]), time.time() - path.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None
        return view, view.state not in _FINISHED and _gone(host, pid, age)

    def prune(self) -> list[Path]:
        """Keep only the most recent `_KEEP_FINISHED` records (and no temporary file a killed writer left); the
        records kept, oldest first."""
        try:
            paths = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
            leftovers = [p for p in self.folder.glob(".*.tmp") if time.time() - p.stat().st_mtime > STALE_S]
        except OSError:
            return []
        try:
            for path in [*paths[: max(0, len(paths) - _KEEP_FINISHED)], *leftovers]:
                path.unlink(missing_ok=True)
        except OSError as exc:  # a read-only index dir: the records stay, the service still starts
            log.warning("cannot prune the job records in %s: %s", self.folder, exc)
        return paths[-_KEEP_FINISHED:]

    def tidy(self) -> None:
        """`prune`, and mark the jobs whose process has gone without finishing them as interrupted."""
        for path in self.prune():
            loaded = self._load(path)
            if loaded is not None and loaded[1]:
                log.warning("job %s stopped with its server while %s: marked interrupted", path.stem, loaded[0].state)
                self.write(interrupted(loaded[0]))


def interrupted(view: JobOut) -> JobOut:
    return view.model_copy(update={"state": "failed", "error": _interrupted_error()})


def _interrupted_error() -> ErrorDetail:
    return ErrorDetail(code=INTERRUPTED, message=_INTERRUPTED_MESSAGE)


@dataclass(frozen=True, slots=True)
class RecordedJob:
    """A job known from its record only (an earlier run of the server, or another replica's)."""

    recorded: JobOut

    def view(self) -> JobOut:
        return self.recorded


class Ingests:
    def __init__(self, service: QAService, on_report: Callable[[IngestReport], None] | None = None) -> None:
        self._service = service
        # "_jobs": no collection can have that name (collection names start with a letter or digit)
        self._records = JobRecords(service.settings.index_dir / "_jobs")
        self._records.tidy()
        self._closing = False
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
        # rewrites the records of unfinished jobs every BEAT_S, so that their progress shows to other replicas and a
        # record left unrefreshed tells that its server has stopped
        self._stopped = threading.Event()
        self._beat = threading.Thread(target=self._refresh_records, name="qa-job-records", daemon=True)
        self._beat.start()

    def _refresh_records(self) -> None:
        while not self._stopped.wait(BEAT_S):
            with self._lock:
                unfinished = [job for job in self._jobs.values() if job.state not in _FINISHED]
            for job in unfinished:
                self._records.write(job.view())

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
        self._records.prune()
        try:
            self._job_threads.submit(self._run_job, job, sources)
        except RuntimeError:  # shutting down
            with self._lock:
                self._active.discard(control)
                del self._jobs[job.id]
            raise IngestBusy("the server is shutting down") from None
        self._records.write(job.view())
        return job

    def _run_job(self, job: Job, sources: Sequence[Source]) -> None:
        try:
            if job.control.cancelled:
                raise IngestCancelled("cancelled before it started")
            job.state = "running"
            self._records.write(job.view())
            job.documents = stored_documents(self._ingest(sources, job.collection, job.control))
            job.state = "done"
        except IngestCancelled:
            if self._closing:
                job.error = _interrupted_error()
                job.state = "failed"
            else:
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
            self._records.write(job.view())
            job.finished.set()

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.state in _FINISHED]
        for job_id in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> Job | RecordedJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job
        # a job of an earlier run, or one another replica runs (as it last wrote it)
        found = self._records.read(job_id)
        if found is None:
            raise JobNotFound(f"no job '{job_id}' (the most recent {_KEEP_FINISHED} jobs are kept)")
        return RecordedJob(found)

    async def cancel(self, job_id: str) -> Job | RecordedJob:
        """Cancel a queued or running job and wait (briefly) until its work has stopped. A job of an earlier run
        has ended already, and one another replica runs can only be cancelled there."""
        job = self.get(job_id)
        if isinstance(job, Job) and job.state not in _FINISHED:
            job.control.cancel()
            if job.state == "queued":
                # its thread, when it comes, finds the control cancelled before any work: nothing to wait for
                # (waiting would last until the job ahead of it ends), and its place in the queue is free now
                job.state = "cancelled"
                with self._lock:
                    self._active.discard(job.control)
                self._records.write(job.view())
                return job
            await asyncio.to_thread(job.finished.wait, 10)
        return job

    async def close(self, timeout: float = 5.0) -> None:
        """Stop every ingest (for shutdown): cancel them, stop the worker processes, wait for the threads. Jobs
        end as interrupted: the running ones as their threads stop, the queued ones here (their threads never
        start)."""
        self._closing = True
        self._stopped.set()
        with self._lock:
            active = list(self._active)
            waiting = [job for job in self._jobs.values() if job.state == "queued"]
        for job in waiting:
            job.error = _interrupted_error()
            job.state = "failed"
            self._records.write(job.view())
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
