"""Python client and worker for the Brigade job queue, and a client for its recipes.

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
from brigade_client.recipe_models import (
    ForcedNodes,
    JobTypeInfo,
    Recipe,
    RecipeCounts,
    RecipeNode,
    RecipeStatus,
    RecipeType,
    RecipeTypeSummary,
)
from brigade_client.recipes import RecipeClient, RecipeStream
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
    "ForcedNodes",
    "Handler",
    "InvalidArgument",
    "JSONDict",
    "Job",
    "JobStatus",
    "JobStream",
    "JobSubmission",
    "JobTypeInfo",
    "JobCancelled",
    "LeaseLost",
    "LeasedJob",
    "NotFound",
    "PreconditionFailed",
    "Recipe",
    "RecipeClient",
    "RecipeCounts",
    "RecipeNode",
    "RecipeStatus",
    "RecipeStream",
    "RecipeType",
    "RecipeTypeSummary",
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
