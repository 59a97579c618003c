"""Plain data classes for services and jobs, decoded from the wire messages."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from brigade_client._proto.brigade.jobqueue.v1 import jobqueue_pb2 as pb

__all__ = ["JSONDict", "Job", "JobStatus", "JobSubmission", "LeasedJob", "Service"]

JSONDict = dict[str, Any]


class JobStatus(str, enum.Enum):
    """A job's status, as the REST API spells it."""

    UNSPECIFIED = "UNSPECIFIED"
    REGISTERED = "REGISTERED"
    WORKING = "WORKING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.ERROR)

    @classmethod
    def from_pb(cls, value: int) -> JobStatus:
        mapping: dict[int, JobStatus] = {
            int(pb.JOB_STATUS_REGISTERED): cls.REGISTERED,
            int(pb.JOB_STATUS_WORKING): cls.WORKING,
            int(pb.JOB_STATUS_COMPLETED): cls.COMPLETED,
            int(pb.JOB_STATUS_ERROR): cls.ERROR,
        }
        return mapping.get(int(value), cls.UNSPECIFIED)

    def __str__(self) -> str:
        return self.value


def _time(message: Any, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    ts = getattr(message, name)
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def _json(text: str) -> JSONDict:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True)
class Service:
    """A job type: the schemas its parameters and results must follow."""

    id: str
    name: str
    description: str
    version: str
    revision: int
    registration_schema: JSONDict
    result_schema: JSONDict
    timeout_seconds: int
    lease_seconds: int
    max_attempts: int
    is_available: bool
    has_timed_out: bool
    created: datetime | None
    last_checked_in: datetime | None
    max_concurrency: int | None = None
    paused: bool = False
    retry_backoff_base_ms: int = 0
    retry_backoff_cap_ms: int = 0

    @classmethod
    def from_pb(cls, s: pb.Service) -> Service:
        return cls(
            id=s.id,
            name=s.name,
            description=s.description,
            version=s.version,
            revision=s.revision,
            registration_schema=_json(s.job_registration_schema_json),
            result_schema=_json(s.job_result_schema_json),
            timeout_seconds=s.timeout_seconds,
            lease_seconds=s.lease_seconds,
            max_attempts=s.max_attempts,
            is_available=s.is_service_available,
            has_timed_out=s.has_timed_out,
            created=_time(s, "created"),
            last_checked_in=_time(s, "last_checked_in"),
            max_concurrency=s.max_concurrency if s.HasField("max_concurrency") else None,
            paused=s.paused,
            retry_backoff_base_ms=s.retry_backoff_base_ms,
            retry_backoff_cap_ms=s.retry_backoff_cap_ms,
        )


def _status_pb(status: JobStatus) -> int:
    mapping: dict[JobStatus, int] = {
        JobStatus.REGISTERED: int(pb.JOB_STATUS_REGISTERED),
        JobStatus.WORKING: int(pb.JOB_STATUS_WORKING),
        JobStatus.COMPLETED: int(pb.JOB_STATUS_COMPLETED),
        JobStatus.ERROR: int(pb.JOB_STATUS_ERROR),
    }
    if status not in mapping:
        raise ValueError(f"not a job status to filter by: {status}")
    return mapping[status]


@dataclass(frozen=True)
class JobSubmission:
    """One job of a batch submit, with the controls a single ``submit`` takes.

    ``priority``: higher is claimed first. ``run_at``: not claimable before then
    (timezone-aware). ``idempotency_key``: a resubmit under the same key returns
    the first job.
    """

    parameters: JSONDict
    priority: int = 0
    run_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Job:
    """One job: its parameters and, once finished, its results or error."""

    id: str
    service_id: str
    status: JobStatus
    parameters: JSONDict
    results: JSONDict | None
    error_message: str | None
    attempts: int
    max_attempts: int
    date_submitted: datetime | None
    lease_expires_at: datetime | None
    service_revision: int
    cancelled: bool
    priority: int = 0
    due_at: datetime | None = None
    idempotency_key: str | None = None
    progress: int | None = None

    @classmethod
    def from_pb(cls, j: pb.Job) -> Job:
        return cls(
            id=j.id,
            service_id=j.service_id,
            status=JobStatus.from_pb(j.status),
            parameters=_json(j.parameters_json),
            results=_json(j.results_json) if j.HasField("results_json") else None,
            error_message=j.error_message if j.HasField("error_message") else None,
            attempts=j.attempts,
            max_attempts=j.max_attempts,
            date_submitted=_time(j, "date_submitted"),
            lease_expires_at=_time(j, "lease_expires_at"),
            service_revision=j.service_revision,
            cancelled=j.cancelled,
            priority=j.priority,
            due_at=_time(j, "due_at"),
            idempotency_key=j.idempotency_key if j.HasField("idempotency_key") else None,
            progress=j.progress if j.HasField("progress") else None,
        )


@dataclass(frozen=True)
class LeasedJob:
    """A job claimed under a lease: only ``lease_token`` may complete or fail it."""

    job: Job
    lease_token: str
    lease_expires_at: datetime | None

    @property
    def id(self) -> str:
        return self.job.id

    @classmethod
    def from_pb(cls, lj: pb.LeasedJob) -> LeasedJob:
        return cls(
            job=Job.from_pb(lj.job),
            lease_token=lj.lease_token,
            lease_expires_at=_time(lj, "lease_expires_at"),
        )
