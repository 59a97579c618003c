"""The Brigade job-queue client: services, jobs and the lease protocol over gRPC."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from brigade_client._connection import _Connection, _dumps, _Stream
from brigade_client._proto.brigade.jobqueue.v1 import jobqueue_pb2 as pb
from brigade_client._proto.brigade.jobqueue.v1 import jobqueue_pb2_grpc as pb_grpc
from brigade_client.errors import AlreadyExists, JobCancelled
from brigade_client.models import Job, JobStatus, JobSubmission, LeasedJob, Service, _status_pb, _time

__all__ = ["Client", "JobStream"]

log = logging.getLogger("brigade_client")


class JobStream(_Stream):
    """An iterator over jobs from a server stream; ``cancel()`` ends it from any thread.

    On a queue watch the server also sends cancel notices for WORKING jobs:
    they are passed to ``on_cancel(job_id, reason)`` and not yielded.
    """

    def __init__(self, call: Any, *, on_cancel: Callable[[str, str], None] | None = None, queue: bool = False) -> None:
        super().__init__(call)
        self._on_cancel = on_cancel
        self._queue = queue

    def __iter__(self) -> Iterator[Job]:
        return self

    def __next__(self) -> Job:
        while True:
            response = self._receive()
            if self._queue and response.HasField("cancelled_job_id"):
                if self._on_cancel is not None:
                    self._on_cancel(response.cancelled_job_id, response.cancel_reason)
                continue
            return Job.from_pb(response.job)


class Client(_Connection):
    """A connection to a Brigade job-queue gRPC endpoint. Thread-safe.

    ``target`` is ``host:port`` or ``http://host:port`` (as ``brigade`` prints
    it); ``https://`` uses TLS, verified with ``ca_cert`` (PEM bytes or a path)
    or else the system roots; ``client_cert`` and ``client_key`` (PEM bytes or
    paths) present a client certificate to servers that ask for one (mTLS).
    ``token`` (default: ``$BRIGADE_TOKEN``) is sent as
    ``authorization: Bearer <token>`` on every call.

    The constructor waits until the server is reachable, retrying with backoff,
    for at most ``connect_timeout`` seconds (``None``: forever, ``0``: do not
    wait) and raises :class:`Unavailable` when it is not. Each call has a
    deadline of ``call_timeout`` seconds. Calls that are safe to repeat are
    retried with backoff on transient errors (unreachable, overloaded) for up to
    ``retry_timeout`` seconds: the reads; :meth:`complete` and :meth:`fail`,
    since a completion or failure repeated with the lease token that applied it
    answers the same job; and :meth:`submit` / :meth:`submit_many` when every
    job has an ``idempotency_key``, since a repeated submit returns the jobs the
    first one made. Other calls that change state are never retried, because a
    reply lost after the server acted would make a retry act twice.
    """

    _stub_factory = pb_grpc.JobQueueStub

    # ----------------------------------------------------------------- services

    def create_service(
        self,
        name: str,
        description: str,
        registration_schema: Mapping[str, Any],
        result_schema: Mapping[str, Any],
        *,
        version: str = "1.0.0",
        timeout_seconds: int | None = None,
        lease_seconds: int | None = None,
        max_attempts: int | None = None,
        max_concurrency: int | None = None,
        paused: bool = False,
        retry_backoff_base_ms: int | None = None,
        retry_backoff_cap_ms: int | None = None,
    ) -> Service:
        """Creates a service; raises :class:`AlreadyExists` if (name, version) is taken.

        ``max_concurrency``: most jobs WORKING at once (None: no limit). ``paused``:
        created paused (no claims until :meth:`resume`). ``retry_backoff_base_ms`` /
        ``retry_backoff_cap_ms``: the retry backoff's first delay and cap (None: the
        server's defaults).
        """
        request = pb.CreateServiceRequest(
            name=name,
            description=description,
            version=version,
            job_registration_schema_json=_dumps(registration_schema, "registration_schema"),
            job_result_schema_json=_dumps(result_schema, "result_schema"),
        )
        if timeout_seconds is not None:
            request.timeout_seconds = timeout_seconds
        if lease_seconds is not None:
            request.lease_seconds = lease_seconds
        if max_attempts is not None:
            request.max_attempts = max_attempts
        if max_concurrency is not None:
            request.max_concurrency = max_concurrency
        request.paused = paused
        if retry_backoff_base_ms is not None:
            request.retry_backoff_base_ms = retry_backoff_base_ms
        if retry_backoff_cap_ms is not None:
            request.retry_backoff_cap_ms = retry_backoff_cap_ms
        return Service.from_pb(self._unary("CreateService", request).service)

    def register_service(
        self,
        name: str,
        description: str,
        registration_schema: Mapping[str, Any],
        result_schema: Mapping[str, Any],
        *,
        version: str = "1.0.0",
        timeout_seconds: int | None = None,
        lease_seconds: int | None = None,
        max_attempts: int | None = None,
        max_concurrency: int | None = None,
        paused: bool = False,
        retry_backoff_base_ms: int | None = None,
        retry_backoff_cap_ms: int | None = None,
    ) -> Service:
        """Creates the service, or returns the existing one with the same name and version.

        An existing service is returned as it is; if its schemas differ from the
        ones given, a warning is logged (change them with a new ``version``).
        """
        try:
            return self.create_service(
                name,
                description,
                registration_schema,
                result_schema,
                version=version,
                timeout_seconds=timeout_seconds,
                lease_seconds=lease_seconds,
                max_attempts=max_attempts,
                max_concurrency=max_concurrency,
                paused=paused,
                retry_backoff_base_ms=retry_backoff_base_ms,
                retry_backoff_cap_ms=retry_backoff_cap_ms,
            )
        except AlreadyExists:
            existing = self.find_service(name, version)
            if existing is None:  # renamed or changed in between: let the caller decide
                raise
        if existing.registration_schema != dict(registration_schema) or existing.result_schema != dict(result_schema):
            log.warning(
                "service %s %s (%s) already exists with different schemas; using it unchanged",
                name,
                version,
                existing.id,
            )
        return existing

    def get_service(self, service_id: str) -> Service:
        return Service.from_pb(self._unary("GetService", pb.GetServiceRequest(id=service_id), idempotent=True).service)

    def list_services(self, *, page_size: int = 1000) -> Iterator[Service]:
        """Every service, page by page."""
        token = ""
        while True:
            response = self._unary(
                "ListServices", pb.ListServicesRequest(page_size=page_size, page_token=token), idempotent=True
            )
            for s in response.services:
                yield Service.from_pb(s)
            token = response.next_page_token
            if not token:
                return

    def find_service(self, name: str, version: str = "1.0.0") -> Service | None:
        """The service with this exact (name, version), looked up by the server."""
        request = pb.ListServicesRequest(name=name, version=version)
        for message in self._unary("ListServices", request, idempotent=True).services:
            service = Service.from_pb(message)
            if service.name == name and service.version == version:
                return service
        return None

    def update_service(
        self,
        service_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        is_available: bool | None = None,
        timeout_seconds: int | None = None,
        lease_seconds: int | None = None,
        max_attempts: int | None = None,
        max_concurrency: int | None = None,
        clear_max_concurrency: bool = False,
        paused: bool | None = None,
        retry_backoff_base_ms: int | None = None,
        retry_backoff_cap_ms: int | None = None,
    ) -> Service:
        """Changes the fields given (None leaves a field as it is) and returns the service.

        ``max_concurrency`` sets the limit (at least 1); ``clear_max_concurrency=True``
        removes it (not both).
        """
        if clear_max_concurrency and max_concurrency is not None:
            raise ValueError("max_concurrency and clear_max_concurrency=True do not go together")
        request = pb.UpdateServiceRequest(id=service_id, clear_max_concurrency=clear_max_concurrency)
        fields: dict[str, object] = {
            "name": name,
            "description": description,
            "is_available": is_available,
            "timeout_seconds": timeout_seconds,
            "lease_seconds": lease_seconds,
            "max_attempts": max_attempts,
            "max_concurrency": max_concurrency,
            "paused": paused,
            "retry_backoff_base_ms": retry_backoff_base_ms,
            "retry_backoff_cap_ms": retry_backoff_cap_ms,
        }
        for field, value in fields.items():
            if value is not None:
                setattr(request, field, value)
        return Service.from_pb(self._unary("UpdateService", request).service)

    def pause(self, service_id: str) -> Service:
        """Pauses the service: no claims until :meth:`resume`; submits are still accepted."""
        return self.update_service(service_id, paused=True)

    def resume(self, service_id: str) -> Service:
        """Resumes a paused service: its jobs can be claimed again."""
        return self.update_service(service_id, paused=False)

    def heartbeat(self, service_id: str, *, retry: bool = True, timeout: float | None = None) -> None:
        """Checks the service in (TopChef's notion of a service being alive)."""
        self._unary("Heartbeat", pb.HeartbeatRequest(id=service_id), idempotent=retry, timeout=timeout)

    # --------------------------------------------------------------------- jobs

    def submit(
        self,
        service_id: str,
        parameters: Mapping[str, Any],
        *,
        priority: int = 0,
        run_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submits one job; raises :class:`InvalidArgument` if the parameters violate the schema.

        ``priority``: higher is claimed first (then oldest). ``run_at``: not claimable
        before then (a timezone-aware datetime). ``idempotency_key``: a second submit with
        the same key for the same service returns the first job, so a submit retried after
        a lost reply never runs twice; a different body under a used key raises
        :class:`AlreadyExists`.
        """
        request = pb.SubmitJobRequest(
            service_id=service_id, parameters_json=_dumps(parameters, "parameters"), priority=priority
        )
        if run_at is not None:
            request.run_at.FromDatetime(run_at)
        if idempotency_key is not None:
            request.idempotency_key = idempotency_key
        keyed = idempotency_key is not None
        return Job.from_pb(self._unary("SubmitJob", request, idempotent=keyed).job)

    def submit_many(self, service_id: str, jobs: Sequence[Mapping[str, Any] | JobSubmission]) -> list[Job]:
        """Submits several jobs, all or none, in order.

        Each is its parameters (a dict) or a :class:`JobSubmission` with the controls
        :meth:`submit` takes (priority, run_at, idempotency_key); a job whose key was
        used before comes back as the first job under that key.
        """
        request = pb.SubmitJobsRequest(service_id=service_id)
        keyed = True
        for job in jobs:
            spec = job if isinstance(job, JobSubmission) else JobSubmission(parameters=dict(job))
            submission = request.jobs.add(parameters_json=_dumps(spec.parameters, "parameters"), priority=spec.priority)
            if spec.run_at is not None:
                submission.run_at.FromDatetime(spec.run_at)
            if spec.idempotency_key is not None:
                submission.idempotency_key = spec.idempotency_key
            else:
                keyed = False
        return [Job.from_pb(j) for j in self._unary("SubmitJobs", request, idempotent=keyed).jobs]

    def get_job(self, job_id: str) -> Job:
        return Job.from_pb(self._unary("GetJob", pb.GetJobRequest(id=job_id), idempotent=True).job)

    def list_jobs(self, service_id: str | None = None, *, page_size: int = 1000) -> Iterator[Job]:
        """Every job (of one service, or of all), oldest first, page by page."""
        token = ""
        while True:
            response = self._unary(
                "ListJobs",
                pb.ListJobsRequest(service_id=service_id or "", page_size=page_size, page_token=token),
                idempotent=True,
            )
            for j in response.jobs:
                yield Job.from_pb(j)
            token = response.next_page_token
            if not token:
                return

    def cancel(self, job_id: str, reason: str = "") -> Job:
        """Cancels a REGISTERED or WORKING job (it becomes ERROR, ``cancelled``).

        The worker holding it hears of it within a second, with ``reason``.
        """
        return Job.from_pb(self._unary("CancelJob", pb.CancelJobRequest(job_id=job_id, reason=reason)).job)

    def retry_job(self, job_id: str) -> Job:
        """Puts a finished (ERROR or cancelled) job back to REGISTERED, claimable again."""
        return Job.from_pb(self._unary("RetryJob", pb.RetryJobRequest(job_id=job_id)).job)

    def delete_job(self, job_id: str) -> None:
        """Deletes a finished job (COMPLETED, ERROR or cancelled); raises :class:`NotFound` if there is none."""
        self._unary("DeleteJob", pb.DeleteJobRequest(job_id=job_id))

    def cancel_jobs(
        self,
        service_id: str,
        statuses: Sequence[JobStatus] = (),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        reason: str = "",
    ) -> int:
        """Cancels every job of the service with one of ``statuses`` (submitted between
        ``since`` and ``until`` when given); returns how many were cancelled."""
        request = pb.CancelJobsRequest(filter=_job_filter(service_id, statuses, since, until), reason=reason)
        return int(self._unary("CancelJobs", request).count)

    def retry_jobs(
        self,
        service_id: str,
        statuses: Sequence[JobStatus] = (JobStatus.ERROR,),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Retries every finished job of the service with one of ``statuses`` (submitted
        between ``since`` and ``until`` when given); returns how many were retried."""
        request = pb.RetryJobsRequest(filter=_job_filter(service_id, statuses, since, until))
        return int(self._unary("RetryJobs", request).count)

    def watch_job(self, job_id: str, *, timeout: float | None = None) -> JobStream:
        """Streams the job: its current state first, then each change, ending after a terminal one."""
        return JobStream(self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=timeout))

    def watch_queue(self, service_id: str, *, on_cancel: Callable[[str, str], None] | None = None) -> JobStream:
        """Streams the service's REGISTERED jobs: the backlog first, then each new one.

        ``on_cancel(job_id, reason)`` hears of WORKING jobs that were cancelled.
        """
        call = self._stub.WatchQueue(pb.WatchQueueRequest(service_id=service_id))
        return JobStream(call, on_cancel=on_cancel, queue=True)

    def wait_for_job(self, job_id: str, *, timeout: float | None = None) -> Job:
        """Blocks until the job is COMPLETED or ERROR and returns it.

        Raises ``TimeoutError`` after ``timeout`` seconds. Survives server restarts.
        """

        def watch(remaining: float | None) -> JobStream:
            return self.watch_job(job_id, timeout=remaining)

        return self._follow(f"job {job_id}", watch, lambda job: job.status.is_terminal, timeout)

    # -------------------------------------------------------- lease protocol

    def claim(
        self,
        service_id: str,
        max_jobs: int = 1,
        *,
        lease_seconds: int | None = None,
        worker_id: str = "",
        timeout: float | None = None,
    ) -> list[LeasedJob]:
        """Leases up to ``max_jobs`` REGISTERED jobs, oldest first (possibly none).

        ``lease_seconds`` None uses the service's lease length.
        """
        request = pb.ClaimJobsRequest(
            service_id=service_id, max_jobs=max_jobs, lease_seconds=lease_seconds or 0, worker_id=worker_id
        )
        return [LeasedJob.from_pb(lj) for lj in self._unary("ClaimJobs", request, timeout=timeout).jobs]

    def extend_lease(
        self, job_id: str, lease_token: str, *, lease_seconds: int | None = None, timeout: float | None = None
    ) -> datetime | None:
        """Renews a lease (heartbeat); returns the new expiry (a UTC datetime).

        Raises :class:`LeaseLost` if the token is no longer the job's lease.
        """
        request = pb.ExtendLeaseRequest(job_id=job_id, lease_token=lease_token, lease_seconds=lease_seconds or 0)
        return _lease_answer(job_id, self._unary("ExtendLease", request, timeout=timeout))

    def report_progress(
        self,
        job_id: str,
        lease_token: str,
        progress: int,
        message: str | None = None,
        *,
        timeout: float | None = None,
    ) -> datetime | None:
        """Renews a lease with a progress report (0-100 and a short message), shown on the job.

        Raises :class:`JobCancelled` when the job was cancelled, :class:`LeaseLost` when the lease is gone.
        """
        request = pb.ExtendLeaseRequest(job_id=job_id, lease_token=lease_token, progress=progress)
        if message is not None:
            request.progress_message = message
        return _lease_answer(job_id, self._unary("ExtendLease", request, timeout=timeout))

    def complete(
        self, job_id: str, lease_token: str, results: Mapping[str, Any], *, timeout: float | None = None
    ) -> Job:
        """Completes a leased job with its results.

        Raises :class:`ResultRejected` (job stays WORKING) when the results
        violate the service's result schema, :class:`LeaseLost` when the lease
        is gone.
        """
        request = pb.CompleteJobRequest(job_id=job_id, lease_token=lease_token, results_json=_dumps(results, "results"))
        # Safe to retry: repeated with the token that applied it, it answers the job again.
        return Job.from_pb(
            self._unary("CompleteJob", request, idempotent=True, results_call=True, timeout=timeout).job
        )

    def fail(
        self, job_id: str, lease_token: str, error_message: str, *, retry: bool = False, timeout: float | None = None
    ) -> Job:
        """Fails a leased job: ERROR with ``error_message``, or with ``retry=True``
        back to REGISTERED while attempts remain (each retry uses up an attempt)."""
        request = pb.FailJobRequest(job_id=job_id, lease_token=lease_token, error_message=error_message, retry=retry)
        return Job.from_pb(self._unary("FailJob", request, idempotent=True, timeout=timeout).job)


def _job_filter(
    service_id: str, statuses: Sequence[JobStatus], since: datetime | None, until: datetime | None
) -> Any:
    job_filter: Any = pb.JobFilter(service_id=service_id)
    job_filter.statuses.extend(_status_pb(JobStatus(s)) for s in statuses)
    if since is not None:
        job_filter.since.FromDatetime(since)
    if until is not None:
        job_filter.until.FromDatetime(until)
    return job_filter


def _lease_answer(job_id: str, response: Any) -> datetime | None:
    if response.cancelled:
        raise JobCancelled(f"job {job_id} was cancelled: {response.cancel_reason}", cancel_reason=response.cancel_reason)
    return _time(response, "lease_expires_at")
