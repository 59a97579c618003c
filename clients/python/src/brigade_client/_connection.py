"""The gRPC plumbing both clients share: the channel, TLS and token, readiness, retried calls."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import grpc

from brigade_client._backoff import Backoff
from brigade_client.errors import BrigadeError, Unavailable, from_rpc_error

log = logging.getLogger("brigade_client")

_C = TypeVar("_C", bound="_Connection")
_S = TypeVar("_S", bound="_Stream")
_T = TypeVar("_T")

# Reconnect quickly after a server restart (gRPC's default backoff grows to 120 s),
# and notice dead connections on long-lived streams.
_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def _parse_target(target: str) -> tuple[str, bool]:
    """Accepts ``host:port``, ``http://host:port`` (plaintext) or ``https://host:port`` (TLS)."""
    t = target.strip()
    for prefix, tls in (("http://", False), ("https://", True), ("grpc://", False)):
        if t.lower().startswith(prefix):
            return t[len(prefix) :].rstrip("/"), tls
    return t.rstrip("/"), False


def _read_pem(value: str | bytes | Path | None, what: str) -> bytes | None:
    """PEM text as bytes: given as bytes, or as a path (str or Path) to read."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {what} from {value}: {e.strerror}") from None


class _Bearer(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc, type-arg, unused-ignore]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc, type-arg, unused-ignore]
):
    """Adds ``authorization: Bearer <token>`` to every call."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token.strip()}")

    def _with_token(self, details: Any) -> Any:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(self._header)
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def __repr__(self) -> str:
        return "_Bearer(<redacted>)"


def _dumps(document: Mapping[str, Any], what: str) -> str:
    if not isinstance(document, Mapping):
        raise TypeError(f"{what} must be a JSON object (a dict), not {type(document).__name__}")
    return json.dumps(document, allow_nan=False, separators=(",", ":"))




class _Stream:
    """A server stream; ``cancel()`` ends it from any thread, and iteration then stops."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def _receive(self) -> Any:
        """The next message; StopIteration at the end or once cancelled, the client's error otherwise."""
        try:
            return next(self._call)
        except grpc.RpcError as e:
            if isinstance(e, grpc.Call) and e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise from_rpc_error(e) from e

    def cancel(self) -> None:
        self._call.cancel()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class _Connection:
    """One channel to one Brigade gRPC endpoint, with a stub made by the
    subclass's ``_stub_factory`` (the generated stub class of its service).

    See :class:`brigade_client.Client` for what the arguments mean.
    """

    _stub_factory: Any

    def __init__(
        self,
        target: str,
        *,
        connect_timeout: float | None = 10.0,
        call_timeout: float = 30.0,
        retry_timeout: float = 10.0,
        options: Sequence[tuple[str, Any]] = (),
        token: str | None = None,
        ca_cert: str | bytes | Path | None = None,
        client_cert: str | bytes | Path | None = None,
        client_key: str | bytes | Path | None = None,
    ) -> None:
        self.target = target
        self.call_timeout = call_timeout
        self.retry_timeout = retry_timeout
        address, tls = _parse_target(target)
        self._address = address
        merged = dict(_CHANNEL_OPTIONS)
        merged.update(dict(options))
        if (client_cert is None) != (client_key is None):
            raise ValueError("client_cert and client_key go together")
        if tls:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem(ca_cert, "ca_cert"),
                private_key=_read_pem(client_key, "client_key"),
                certificate_chain=_read_pem(client_cert, "client_cert"),
            )
            channel = grpc.secure_channel(address, credentials, options=list(merged.items()))
        elif ca_cert is not None or client_cert is not None:
            raise ValueError("ca_cert and client_cert need an https:// target")
        else:
            channel = grpc.insecure_channel(address, options=list(merged.items()))
        token = token if token is not None else os.environ.get("BRIGADE_TOKEN") or None
        self._channel = grpc.intercept_channel(channel, _Bearer(token)) if token else channel
        self._raw_channel = channel
        # The generated stub is untyped; the wrappers give the API its types.
        self._stub: Any = type(self)._stub_factory(self._channel)
        self._closed = threading.Event()
        if connect_timeout is None or connect_timeout > 0:
            try:
                self.wait_ready(connect_timeout)
            except BaseException:
                self.close()
                raise

    def wait_ready(self, timeout: float | None = 10.0) -> None:
        """Blocks until the channel is connected; retries with backoff; ``None`` waits forever."""
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = Backoff(0.25, 2.0)
        attempt = 0
        while not self._closed.is_set():
            attempt += 1
            wait = backoff.next()
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            future = grpc.channel_ready_future(self._raw_channel)
            try:
                future.result(timeout=wait)
                return
            except grpc.FutureTimeoutError:
                future.cancel()
            if deadline is not None and time.monotonic() >= deadline:
                raise Unavailable(f"could not connect to Brigade at {self.target} within {timeout} s")
            log.debug("waiting for Brigade at %s (attempt %d)", self.target, attempt)
        raise Unavailable("the client is closed")

    def close(self) -> None:
        """Closes the channel; calls in progress fail with CANCELLED."""
        self._closed.set()
        self._raw_channel.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target!r})"

    def _follow(
        self,
        what: str,
        watch: Callable[[float | None], Any],
        done: Callable[[_T], bool],
        timeout: float | None,
    ) -> _T:
        """Follows ``watch(remaining_seconds)`` (a stream of ``_T``) until ``done`` says so,
        watching again after a lost stream or an outage; ``TimeoutError`` naming
        ``what`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = Backoff(0.2, 2.0)
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"{what} did not finish within {timeout} s")
            try:
                with watch(remaining) as stream:
                    for item in stream:
                        if done(item):
                            return cast(_T, item)
                        backoff.reset()
            except Unavailable as e:
                if (
                    e.code == grpc.StatusCode.DEADLINE_EXCEEDED
                    and deadline is not None
                    and time.monotonic() >= deadline
                ):
                    raise TimeoutError(f"{what} did not finish within {timeout} s") from None
                if self._closed.wait(backoff.next()):
                    raise
            # The stream ended before ``done`` (a server stopping): watch again.

    def _unary(
        self,
        method: str,
        request: Any,
        *,
        idempotent: bool = False,
        results_call: bool = False,
        timeout: float | None = None,
    ) -> Any:
        fn = getattr(self._stub, method)
        call_timeout = timeout if timeout is not None else self.call_timeout
        deadline = time.monotonic() + self.retry_timeout
        backoff = Backoff(0.1, 2.0)
        while True:
            try:
                return fn(request, timeout=call_timeout)
            except grpc.RpcError as e:
                err = from_rpc_error(e, results_call=results_call)
                if idempotent and isinstance(err, Unavailable) and not self._closed.is_set():
                    delay = backoff.next()
                    if time.monotonic() + delay < deadline:
                        log.debug("%s: %s; retrying in %.2f s", method, err, delay)
                        if self._closed.wait(delay):
                            raise err from e
                        continue
                raise err from e
            except ValueError as e:  # grpc raises ValueError on a closed channel
                if self._closed.is_set():
                    raise BrigadeError("the client is closed") from e
                raise
