"""Typed exceptions raised by the client and reported by the worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import grpc

from brigade_client import _status
from brigade_client._proto.brigade.errors.v1.errors_pb2 import ErrorReason

__all__ = [
    "AlreadyExists",
    "BrigadeError",
    "ErrorReason",
    "FieldViolation",
    "InvalidArgument",
    "JobCancelled",
    "LeaseLost",
    "NotFound",
    "PreconditionFailed",
    "ResultRejected",
    "Unavailable",
    "from_rpc_error",
    "reason_from_wire",
]

_REASON_PREFIX = "ERROR_REASON_"


def reason_from_wire(name: str) -> ErrorReason:
    """The ErrorReason a server sent as ``ErrorInfo.reason`` (``"STALE_LEASE"``).

    ``ERROR_REASON_UNSPECIFIED`` when there was none, or for a reason newer
    than this client (``BrigadeError.reason_name`` keeps the text).
    """
    try:
        return cast(ErrorReason, ErrorReason.Value(_REASON_PREFIX + name))
    except ValueError:
        return ErrorReason.ERROR_REASON_UNSPECIFIED


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field of a request (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class BrigadeError(Exception):
    """Base class of every error this package raises for a failed call.

    ``code`` is the gRPC status code (None when the error did not come from a
    call), ``reason`` the server's ``google.rpc.ErrorInfo`` reason as an
    :data:`ErrorReason` member (``ErrorReason.ERROR_REASON_STALE_LEASE``;
    ``ERROR_REASON_UNSPECIFIED`` when it sent none), ``reason_name`` the same
    reason as sent on the wire (``"STALE_LEASE"``, also for reasons newer than
    this client), ``violations`` the field violations it sent.
    """

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        violations: list[FieldViolation] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason_name = reason
        self.reason: ErrorReason = reason_from_wire(reason)
        self.violations: list[FieldViolation] = list(violations or [])

    def __str__(self) -> str:
        if not self.violations:
            return self.message
        details = "; ".join(str(v) for v in self.violations)
        return f"{self.message} ({details})"


class NotFound(BrigadeError):
    """The service or job does not exist."""


class AlreadyExists(BrigadeError):
    """A service with the same name and version already exists."""


class InvalidArgument(BrigadeError):
    """The server rejected a request field; ``violations`` says which and why.

    Parameters that violate a service's registration schema raise this on submit.
    """


class ResultRejected(InvalidArgument):
    """The results violate the service's result schema (or are not a JSON object).

    The job stays WORKING under the same lease: the holder may complete it with
    corrected results or fail it.
    """


class LeaseLost(BrigadeError):
    """The lease token is not the job's current lease (it expired, the job was
    completed, failed, cancelled or re-leased). Nothing was changed."""


class JobCancelled(LeaseLost):
    """The job was cancelled while this lease held it; ``reason`` says why.

    Raised by a heartbeat (``extend_lease``) so the worker stops the job.
    """

    def __init__(self, message: str, *, cancel_reason: str = "") -> None:
        super().__init__(message)
        self.cancel_reason = cancel_reason


class PreconditionFailed(BrigadeError):
    """The request conflicts with the current state (e.g. cancelling a finished job)."""


class Unavailable(BrigadeError):
    """The server could not be reached or did not answer in time. Transient."""


_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}


def is_transient(code: grpc.StatusCode | None) -> bool:
    return code in _TRANSIENT


def from_rpc_error(error: grpc.RpcError, *, results_call: bool = False) -> BrigadeError:
    """Turns a failed gRPC call into the matching BrigadeError subclass.

    ``results_call`` marks calls whose INVALID_ARGUMENT about the ``results``
    field means the results were rejected (CompleteJob).
    """
    code: grpc.StatusCode | None = None
    message = str(error)
    trailers: object = None
    if isinstance(error, grpc.Call):
        code = error.code()
        message = error.details() or (code.name if code else "error")
        trailers = error.trailing_metadata()
    details = _status.parse_trailers(trailers)
    violations = [FieldViolation(f, d) for f, d in details.violations]

    def make(cls: type[BrigadeError]) -> BrigadeError:
        return cls(message, code=code, reason=details.reason, violations=violations)

    if code == grpc.StatusCode.NOT_FOUND:
        return make(NotFound)
    if code == grpc.StatusCode.ALREADY_EXISTS:
        return make(AlreadyExists)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        if results_call and any(v.field.split("[")[0].split(".")[0] == "results" for v in violations):
            return make(ResultRejected)
        return make(InvalidArgument)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        if reason_from_wire(details.reason) == ErrorReason.ERROR_REASON_STALE_LEASE:
            return make(LeaseLost)
        return make(PreconditionFailed)
    if is_transient(code):
        return make(Unavailable)
    return make(BrigadeError)
