"""A worker that takes a service's jobs and runs a handler on each.

Concurrency model (threads, no asyncio):

* ``run()`` is the *claim loop*: it leases at most as many jobs as it has free
  handler slots (``concurrency``), ``batch_size`` per ClaimJobs call, and hands
  each to one of ``concurrency`` handler threads (daemons). It never holds a job
  it cannot start, so nothing waits under a lease in a local queue.
* A *watcher* thread follows WatchQueue and wakes the claim loop when a job is
  queued; the claim loop also polls every ``poll_interval`` seconds, so it does
  not depend on the stream.
* A *lease keeper* thread renews the lease of every running job every third of
  the lease length, and checks the service in (Heartbeat).
* Each handler thread reports its own outcome: CompleteJob with the result, or
  FailJob with the exception's message.

Server restarts: every RPC failure that is transient (UNAVAILABLE,
DEADLINE_EXCEEDED, ...) is retried with exponential backoff; leases live in the
server's database, so a job whose lease has not expired when the server is back
is renewed and completed as if nothing happened. If it did expire meanwhile, the
server hands it out again and this worker's late report is refused
(:class:`LeaseLost`), which it logs and drops.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from brigade_client._backoff import Backoff
from brigade_client.client import Client
from brigade_client.errors import BrigadeError, JobCancelled, LeaseLost, NotFound, ResultRejected, Unavailable
from brigade_client.models import Job, JSONDict, LeasedJob, Service

__all__ = ["ErrorCallback", "Handler", "RetryJob", "Worker", "WorkerStats", "cancel_reason", "current_job", "job_cancelled"]

log = logging.getLogger("brigade_client.worker")

Handler = Callable[[JSONDict], Mapping[str, Any]]
"""``handler(parameters) -> results``: both JSON objects (dicts)."""

ErrorCallback = Callable[[Job, BaseException], None]
"""Called with the job and the error when a handler raises, its results are
rejected, a lease is lost or a report cannot be delivered."""


class RetryJob(Exception):
    """Raise from a handler to put the job back in the queue instead of failing it.

    The server counts this as an attempt; once ``max_attempts`` are used up the
    job becomes ERROR with this exception's message.
    """


_local = threading.local()


def current_job() -> Job | None:
    """The job whose handler is running in this thread (None outside handlers)."""
    return getattr(_local, "job", None)


def job_cancelled() -> bool:
    """True once the job whose handler runs in this thread was cancelled.

    The worker hears of a cancel through its queue watch (within a second) or
    a heartbeat answer; a handler doing long work should check this and stop.
    Its outcome is then dropped (the job is already ERROR). False outside handlers.
    """
    event: threading.Event | None = getattr(_local, "cancel", None)
    return event is not None and event.is_set()


def cancel_reason() -> str | None:
    """Why the current job was cancelled, once :func:`job_cancelled` is true."""
    held: _Held | None = getattr(_local, "held", None)
    if held is None or not held.cancel.is_set():
        return None
    return held.cancel_reason


@dataclass
class WorkerStats:
    """Counters, for monitoring and tests. Read them; do not write."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    rejected: int = 0
    lost: int = 0
    released: int = 0
    cancelled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)


_RUNNING, _REPORTING, _DONE = "running", "reporting", "done"
# How long past the (local estimate of the) lease expiry a report keeps being
# retried; the server refuses it after the real expiry anyway.
_REPORT_GRACE = 2.0


@dataclass(eq=False)
class _Held:
    leased: LeasedJob
    deadline: float  # monotonic; a conservative estimate of the lease expiry
    next_extend: float
    state: str = _RUNNING
    lost: bool = False
    released: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str = ""

    def cancelled(self, reason: str) -> bool:
        """Marks the job cancelled (its outcome is dropped); false if it already was."""
        with self.lock:
            if self.cancel.is_set():
                return False
            self.cancel_reason = reason
            self.lost = True
            self.cancel.set()
            return True

    @property
    def id(self) -> str:
        return self.leased.job.id

    @property
    def token(self) -> str:
        return self.leased.lease_token


def _message(e: BaseException) -> str:
    return str(e) or type(e).__name__


class Worker:
    """Takes jobs of one service and runs ``handler(parameters) -> results`` on each.

    ``concurrency`` handlers run at once, on threads. ``batch_size`` (default:
    ``concurrency``) caps one ClaimJobs call. ``lease_seconds`` None uses the
    service's lease length. ``poll_interval`` is how often to look for jobs when
    WatchQueue (``watch=True``) has said nothing. ``on_error`` is called (on a
    worker thread) with the job and the error whenever a job does not end as
    planned: the handler raised, its results were rejected
    (:class:`ResultRejected`; the job is then failed with the violations as its
    message), the lease was lost, or the report could not be delivered.
    """

    def __init__(
        self,
        client: Client,
        service_id: str,
        handler: Handler,
        *,
        concurrency: int = 4,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
        poll_interval: float = 1.0,
        watch: bool = True,
        worker_id: str | None = None,
        on_error: ErrorCallback | None = None,
        max_backoff: float = 5.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if lease_seconds is not None and lease_seconds < 1:
            raise ValueError("lease_seconds must be at least 1")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.client = client
        self.service_id = service_id
        self.handler = handler
        self.concurrency = concurrency
        self.batch_size = min(batch_size or concurrency, 1000)
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.watch = watch
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.on_error = on_error
        self.max_backoff = max(max_backoff, 0.2)
        self.stats = WorkerStats()
        self.service: Service | None = None
        self.error: Exception | None = None
        """What :meth:`run` raised when it ran on a :meth:`start` thread."""

        self._lease = 0  # seconds; known once the service is loaded
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._held: dict[str, _Held] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._abandon = threading.Event()  # stop(graceful=False): release, do not wait
        self._keeper_stop = threading.Event()
        self._started = False
        self._runner: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._watch_stream: Any = None
        self._ready: queue.SimpleQueue[_Held | None] = queue.SimpleQueue()
        self._own_threads: set[threading.Thread] = set()

    # ------------------------------------------------------------- public API

    def run(self) -> None:
        """Takes jobs until :meth:`stop`; then finishes (or releases) what it holds and returns.

        Raises :class:`NotFound` if the service does not exist. Server outages
        are waited out, not raised.
        """
        with self._lock:
            if self._done.is_set() or (self._started and self._runner is not threading.current_thread()):
                raise RuntimeError("a Worker runs once")
            self._started = True
            self._runner = threading.current_thread()
        threads: list[threading.Thread] = []
        try:
            service = self._load_service()
            if service is None:
                return
            self.service = service
            self._lease = self.lease_seconds or service.lease_seconds or 30
            handlers = [
                threading.Thread(target=self._handler_loop, name=f"brigade-handler-{i}", daemon=True)
                for i in range(self.concurrency)
            ]
            self._own_threads.update(handlers)
            for t in handlers:
                t.start()
            threads.append(threading.Thread(target=self._keep_leases, name="brigade-lease-keeper", daemon=True))
            if self.watch:
                threads.append(threading.Thread(target=self._watch_queue, name="brigade-watcher", daemon=True))
            self._own_threads.update(threads)
            for t in threads:
                t.start()
            log.info(
                "worker %s taking jobs of %s (%s %s): concurrency %d, lease %d s",
                self.worker_id,
                service.id,
                service.name,
                service.version,
                self.concurrency,
                self._lease,
            )
            self._claim_loop()
            self._drain()
        finally:
            self._stopping.set()
            self._cancel_watch()
            self._keeper_stop.set()
            for t in threads:
                t.join(timeout=5)
            # After a graceful drain the handler threads are idle and end now;
            # after an abandon, busy ones end when their handler returns (Python
            # cannot kill threads; they are daemons, so they do not keep the
            # process alive) and their outcomes are dropped.
            for _ in range(self.concurrency):
                self._ready.put(None)
            self._done.set()
            log.info("worker %s stopped (%s)", self.worker_id, self.stats)

    def start(self) -> Worker:
        """Runs :meth:`run` on a background thread; returns self."""
        with self._lock:
            if self._started:
                raise RuntimeError("a Worker runs once")
            self._started = True
            self._thread = threading.Thread(target=self._run_in_thread, name="brigade-worker", daemon=True)
            self._runner = self._thread
        self._thread.start()
        return self

    def stop(self, graceful: bool = True, timeout: float | None = None) -> bool:
        """Stops claiming. ``graceful``: let running handlers finish and report;
        otherwise return their jobs to the queue at once (FailJob with retry,
        which counts as an attempt) and drop their outcomes.

        Safe from any thread. Called from one of the worker's own threads (a
        handler, ``on_error``, or the thread running :meth:`run`) it does not
        wait; from any other thread it waits up to ``timeout`` seconds (None:
        no limit) for the worker to finish. Calling it again with ``graceful=False`` while a graceful stop
        drains escalates it. Returns whether the worker has finished.

        Not for Python signal handlers (it takes locks the interrupted code may
        hold): use :meth:`serve`, which handles SIGINT and SIGTERM.
        """
        self._stopping.set()
        if not graceful:
            self._abandon.set()
        self._wake.set()
        with self._idle:
            self._idle.notify_all()
        self._cancel_watch()
        if not self._started:
            return True
        current = threading.current_thread()
        if current is self._runner or current in self._own_threads:
            return self._done.is_set()
        return self._done.wait(timeout)

    def serve(self, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Runs the worker until a signal: the first one stops it gracefully, a
        second one hands the held jobs back at once. Call from the main thread.

        The signal handlers only record the signal; the main thread acts on it.
        The previous handlers are restored on return. Raises what :meth:`run`
        raised (e.g. :class:`NotFound`).
        """
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("serve() must be called from the main thread")
        received: list[int] = []

        def record(signum: int, frame: FrameType | None) -> None:
            received.append(signum)  # no locks in a signal handler

        previous = {s: signal.signal(s, record) for s in signals}
        try:
            self.start()
            acted = 0
            while not self._done.wait(0.2):
                while acted < len(received):
                    acted += 1
                    name = signal.Signals(received[acted - 1]).name
                    if acted == 1:
                        log.info("%s: finishing the running jobs (signal again to hand them back)", name)
                        self.stop(graceful=True, timeout=0)
                    else:
                        log.info("%s: handing the running jobs back", name)
                        self.stop(graceful=False, timeout=0)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self.error is not None:
            raise self.error

    def join(self, timeout: float | None = None) -> bool:
        """Waits for a worker started with :meth:`start` to finish; returns whether it has."""
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._started and not self._done.is_set()

    @property
    def in_flight(self) -> int:
        """Jobs held right now (running or reporting)."""
        with self._lock:
            return len(self._held)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- internals

    def _run_in_thread(self) -> None:
        try:
            self.run()
        except Exception as e:
            self.error = e
            log.exception("worker %s failed", self.worker_id)

    def _notify(self, job: Job, error: BaseException) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(job, error)
        except Exception:
            log.exception("on_error callback raised")

    def _load_service(self) -> Service | None:
        backoff = Backoff(0.2, self.max_backoff)
        while not self._stopping.is_set():
            try:
                return self.client.get_service(self.service_id)
            except NotFound:
                raise
            except BrigadeError as e:
                log.warning("cannot load service %s yet: %s", self.service_id, e)
                self._stopping.wait(backoff.next())
        return None

    def _call_timeout(self) -> float:
        """Deadline for lease calls: well inside the lease, so a hung server cannot outlast it."""
        return max(0.5, min(self.client.call_timeout, self._lease / 3))

    def _claim_loop(self) -> None:
        backoff = Backoff(0.1, self.max_backoff)
        outage_since: float | None = None
        while not self._stopping.is_set():
            self._wake.clear()
            with self._lock:
                free = self.concurrency - len(self._held)
            if free <= 0:
                self._wake.wait(self.poll_interval)
                continue
            want = min(free, self.batch_size)
            try:
                leased = self.client.claim(
                    self.service_id,
                    want,
                    lease_seconds=self._lease,
                    worker_id=self.worker_id,
                    timeout=self._call_timeout(),
                )
            except BrigadeError as e:
                delay = backoff.next()
                if not isinstance(e, Unavailable):
                    log.error("claiming jobs failed (%s); retrying in %.1f s", e, delay)
                elif outage_since is None:
                    outage_since = time.monotonic()
                    log.warning("Brigade unreachable (%s); retrying with backoff", e)
                else:
                    log.debug("still unreachable (%s); retrying in %.1f s", e, delay)
                self._stopping.wait(delay)
                continue
            if outage_since is not None:
                log.warning("Brigade reachable again after %.1f s", time.monotonic() - outage_since)
                outage_since = None
            backoff.reset()
            for lj in leased:
                self._start_job(lj, claimed_at=time.monotonic())
            if len(leased) < want:
                self._wake.wait(self.poll_interval)

    def _start_job(self, lj: LeasedJob, *, claimed_at: float) -> None:
        # The claim was sent before claimed_at, so the lease ends after this estimate.
        held = _Held(
            leased=lj,
            deadline=claimed_at - 0.5 + self._lease,
            next_extend=claimed_at + self._lease / 3,
        )
        with self._lock:
            self._held[held.id] = held
        self.stats.add("claimed")
        log.debug("job %s claimed (attempts so far %d)", held.id, lj.job.attempts)
        # There is an idle handler thread for it: jobs are only claimed for free slots.
        self._ready.put(held)

    def _handler_loop(self) -> None:
        while True:
            held = self._ready.get()
            if held is None:
                return
            self._execute(held)

    def _execute(self, held: _Held) -> None:
        job = held.leased.job
        _local.job = job
        _local.cancel = held.cancel
        _local.held = held
        try:
            kind: str
            payload: Any
            try:
                result = self.handler(job.parameters)
                if not isinstance(result, Mapping):
                    raise TypeError(f"the handler returned {type(result).__name__}, not a dict of results")
                kind, payload = "complete", dict(result)
            except RetryJob as e:
                kind, payload = "retry", _message(e)
            except BaseException as e:  # noqa: BLE001 - any handler failure fails the job
                log.warning("job %s: handler raised %s", job.id, _message(e), exc_info=e)
                self._notify(job, e)
                kind, payload = "fail", _message(e)
            self._report(held, kind, payload)
        except BaseException:
            log.exception("job %s: unexpected error in the worker", job.id)
        finally:
            _local.job = None
            _local.cancel = None
            _local.held = None
            with self._idle:
                held.state = _DONE
                self._held.pop(held.id, None)
                self._idle.notify_all()
            self._wake.set()

    def _report(self, held: _Held, kind: str, payload: Any) -> None:
        job = held.leased.job
        backoff = Backoff(0.2, self.max_backoff)
        with held.lock:
            held.state = _REPORTING
        while True:
            if held.cancel.is_set():
                log.info("job %s: cancelled (%s); outcome dropped", job.id, held.cancel_reason)
                return
            if held.released or held.lost:
                log.info("job %s: outcome dropped (lease %s)", job.id, "released" if held.released else "lost")
                return
            try:
                if kind == "complete":
                    self.client.complete(job.id, held.token, payload, timeout=self._call_timeout())
                    self.stats.add("completed")
                    log.debug("job %s completed", job.id)
                elif kind == "retry":
                    self.client.fail(job.id, held.token, payload, retry=True, timeout=self._call_timeout())
                    self.stats.add("retried")
                    log.info("job %s returned to the queue: %s", job.id, payload)
                else:
                    self.client.fail(job.id, held.token, payload, retry=False, timeout=self._call_timeout())
                    self.stats.add("failed")
                    log.info("job %s failed: %s", job.id, payload)
                return
            except ResultRejected as e:
                self.stats.add("rejected")
                log.warning("job %s: results rejected: %s", job.id, e)
                self._notify(job, e)
                kind = "fail"
                payload = f"results rejected by the service's result schema: {e}"
            except (TypeError, ValueError) as e:  # results that are not JSON
                log.warning("job %s: results are not JSON: %s", job.id, e)
                self._notify(job, e)
                kind, payload = "fail", f"results are not a JSON object: {e}"
            except LeaseLost as e:
                held.lost = True
                self.stats.add("lost")
                log.warning("job %s: lease lost before the outcome was reported: %s", job.id, e)
                self._notify(job, e)
                return
            except Unavailable as e:
                if self._abandon.is_set():
                    return
                if time.monotonic() > held.deadline + _REPORT_GRACE:
                    log.error(
                        "job %s: could not report before the lease expired (%s); the server will retry it", job.id, e
                    )
                    self._notify(job, e)
                    return
                delay = backoff.next()
                log.warning("job %s: reporting failed (%s); retrying in %.1f s", job.id, e, delay)
                self._abandon.wait(delay)
            except BrigadeError as e:
                log.error("job %s: reporting failed: %s", job.id, e)
                self._notify(job, e)
                return

    def _keep_leases(self) -> None:
        tick = max(0.05, min(1.0, self._lease / 6))
        service = self.service
        heartbeat_every = max(1.0, min(30.0, (service.timeout_seconds if service else 60) / 2))
        next_heartbeat = 0.0
        while not self._keeper_stop.wait(tick):
            now = time.monotonic()
            with self._lock:
                held_now = list(self._held.values())
            for held in held_now:
                if held.lost or held.released or held.state == _DONE or now < held.next_extend:
                    continue
                self._extend(held)
            if now >= next_heartbeat:
                next_heartbeat = now + heartbeat_every
                try:
                    self.client.heartbeat(self.service_id, retry=False, timeout=self._call_timeout())
                except BrigadeError as e:
                    log.debug("heartbeat failed: %s", e)

    def _extend(self, held: _Held) -> None:
        sent = time.monotonic()
        try:
            self.client.extend_lease(held.id, held.token, lease_seconds=self._lease, timeout=self._call_timeout())
        except JobCancelled as e:
            self._job_cancelled(held.id, e.cancel_reason)
            return
        except LeaseLost as e:
            with held.lock:
                running = held.state == _RUNNING
                if running:
                    held.lost = True
            if running:  # while reporting, the job may just have been completed
                self.stats.add("lost")
                log.warning("job %s: lease lost while the handler runs; its outcome will be dropped", held.id)
                self._notify(held.leased.job, e)
            return
        except Unavailable as e:
            held.next_extend = sent + min(1.0, self._lease / 6)
            log.warning("job %s: lease renewal failed (%s); retrying", held.id, e)
            return
        except BrigadeError as e:
            held.next_extend = sent + self._lease / 3
            log.error("job %s: lease renewal failed: %s", held.id, e)
            return
        held.deadline = sent + self._lease
        held.next_extend = sent + self._lease / 3

    def _watch_queue(self) -> None:
        backoff = Backoff(0.2, self.max_backoff)
        while not self._stopping.is_set():
            try:
                stream = self.client.watch_queue(self.service_id, on_cancel=self._job_cancelled)
                with self._lock:
                    self._watch_stream = stream
                if self._stopping.is_set():
                    stream.cancel()
                    return
                for _job in stream:
                    backoff.reset()
                    self._wake.set()
            except BrigadeError as e:
                log.debug("queue watch interrupted: %s", e)
            except Exception:
                log.exception("queue watch failed")
            finally:
                with self._lock:
                    self._watch_stream = None
            # The stream ended (server stopping or gone): look for jobs once, then watch again.
            self._wake.set()
            self._stopping.wait(backoff.next())

    def _job_cancelled(self, job_id: str, reason: str) -> None:
        """A job was cancelled on the server: tell its handler (if we hold it)."""
        with self._lock:
            held = self._held.get(job_id)
        if held is not None and held.cancelled(reason):
            self.stats.add("cancelled")
            log.info("job %s cancelled while running: %s", job_id, reason)

    def _cancel_watch(self) -> None:
        with self._lock:
            stream = self._watch_stream
        if stream is not None:
            try:
                stream.cancel()
            except Exception:
                pass

    def _drain(self) -> None:
        """After the claim loop: wait for running jobs (graceful) or release them."""
        with self._idle:
            if self._held and not self._abandon.is_set():
                log.info("worker %s: waiting for %d running job(s) to finish", self.worker_id, len(self._held))
            while self._held and not self._abandon.is_set():
                self._idle.wait(0.5)
            remaining = [h for h in self._held.values() if h.state != _DONE]
        for held in remaining:
            with held.lock:
                held.released = True
            try:
                self.client.fail(
                    held.id,
                    held.token,
                    f"worker {self.worker_id} stopped before finishing the job",
                    retry=True,
                    timeout=self._call_timeout(),
                )
                self.stats.add("released")
                log.info("job %s released back to the queue", held.id)
            except BrigadeError as e:
                log.info("job %s: could not release (%s); its lease will expire", held.id, e)
