"""Python client and worker for the Brigade job queue.

>>> from brigade_client import Client, Worker
>>> client = Client("http://127.0.0.1:50051")
>>> service = client.register_service("adder", "adds", {"type": "object"}, {"type": "object"})
>>> Worker(client, service.id, lambda p: {"sum": p["a"] + p["b"]}).run()
"""

from brigade_client.client import Client, JobStream
from brigade_client.errors import (
    AlreadyExists,
    BrigadeError,
    ErrorReason,
    FieldViolation,
    InvalidArgument,
    JobCancelled,
    LeaseLost,
    NotFound,
    PreconditionFailed,
    ResultRejected,
    Unavailable,
)
from brigade_client.models import Job, JobStatus, JobSubmission, JSONDict, LeasedJob, Service
from brigade_client.worker import (
    ErrorCallback,
    Handler,
    RetryJob,
    Worker,
    WorkerStats,
    cancel_reason,
    current_job,
    job_cancelled,
)

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "BrigadeError",
    "Client",
    "ErrorCallback",
    "ErrorReason",
    "FieldViolation",
    "Handler",
    "InvalidArgument",
    "JSONDict",
    "Job",
    "JobStatus",
    "JobStream",
    "JobSubmission",
    "JobCancelled",
    "LeaseLost",
    "LeasedJob",
    "NotFound",
    "PreconditionFailed",
    "ResultRejected",
    "RetryJob",
    "Service",
    "Unavailable",
    "Worker",
    "WorkerStats",
    "cancel_reason",
    "current_job",
    "job_cancelled",
]
