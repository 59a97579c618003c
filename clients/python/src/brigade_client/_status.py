"""Reads google.rpc.Status details (ErrorInfo, BadRequest) from gRPC trailers.

The messages are declared here, wire-compatible with google/rpc/status.proto and
error_details.proto, in a private descriptor pool: no dependency on
googleapis-common-protos and no clash with it when an application uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_STATUS_TRAILER = "grpc-status-details-bin"
_BAD_REQUEST = "google.rpc.BadRequest"
_ERROR_INFO = "google.rpc.ErrorInfo"


def _build() -> dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="brigade_client/private_rpc_status.proto",
        package="brigade_client.private.rpc",
        syntax="proto3",
    )

    def message(name: str, fields: list[tuple[str, int, int, int, str]]) -> None:
        m = file.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    pkg = ".brigade_client.private.rpc."
    message("Any", [("type_url", 1, F.TYPE_STRING, opt, ""), ("value", 2, F.TYPE_BYTES, opt, "")])
    message(
        "Status",
        [
            ("code", 1, F.TYPE_INT32, opt, ""),
            ("message", 2, F.TYPE_STRING, opt, ""),
            ("details", 3, F.TYPE_MESSAGE, rep, pkg + "Any"),
        ],
    )
    message(
        "FieldViolation",
        [("field", 1, F.TYPE_STRING, opt, ""), ("description", 2, F.TYPE_STRING, opt, "")],
    )
    message("BadRequest", [("field_violations", 1, F.TYPE_MESSAGE, rep, pkg + "FieldViolation")])
    # ErrorInfo.metadata (field 3) is left out; the parser skips it.
    message("ErrorInfo", [("reason", 1, F.TYPE_STRING, opt, ""), ("domain", 2, F.TYPE_STRING, opt, "")])
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(file.SerializeToString())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"brigade_client.private.rpc.{name}"))
        for name in ("Status", "BadRequest", "ErrorInfo")
    }


_MESSAGES = _build()


@dataclass
class StatusDetails:
    reason: str = ""
    domain: str = ""
    violations: list[tuple[str, str]] = field(default_factory=list)


def parse_trailers(trailers: object) -> StatusDetails:
    """Extracts ErrorInfo and BadRequest from a call's trailing metadata; tolerant of anything."""
    out = StatusDetails()
    if not isinstance(trailers, Iterable):
        return out
    for item in trailers:
        try:
            key, value = item
        except (TypeError, ValueError):
            continue
        if key != _STATUS_TRAILER or not isinstance(value, bytes):
            continue
        try:
            status = _MESSAGES["Status"].FromString(value)
            for detail in status.details:
                kind = detail.type_url.rsplit("/", 1)[-1]
                if kind == _BAD_REQUEST:
                    bad = _MESSAGES["BadRequest"].FromString(detail.value)
                    out.violations.extend((v.field, v.description) for v in bad.field_violations)
                elif kind == _ERROR_INFO:
                    info = _MESSAGES["ErrorInfo"].FromString(detail.value)
                    out.reason, out.domain = info.reason, info.domain
        except Exception:  # a malformed trailer must not hide the real error
            continue
    return out
