"""The Worker end to end: jobs go in over REST, results come out over REST."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brigade_client import (
    Client,
    Job,
    NotFound,
    ResultRejected,
    RetryJob,
    Worker,
    cancel_reason,
    current_job,
    job_cancelled,
)
from conftest import EXPOSURE_PARAMS, EXPOSURE_RESULT, BrigadeServer, expose, status_is, wait_for

WORKER_PROCESS = Path(__file__).with_name("worker_process.py")


@pytest.fixture()
def workers() -> Iterator[list[Worker]]:
    """Workers a test starts; stopped (not gracefully) at the end whatever happens."""
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop(graceful=False, timeout=10)


def start(workers: list[Worker], worker: Worker) -> Worker:
    workers.append(worker)
    return worker.start()


def test_job_submitted_over_rest_is_completed_by_the_worker(
    client: Client, server: BrigadeServer, workers: list[Worker]
) -> None:
    """(a)"""
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    worker = start(workers, Worker(client, service_id, expose, concurrency=2))
    job_ids = [server.submit(service_id, {"exposure_ms": ms, "gain": 2.0}) for ms in (10, 5000)]
    for job_id, ms in zip(job_ids, (10, 5000), strict=True):
        job = server.wait_job(job_id, status_is("COMPLETED", "ERROR"))
        assert job["status"] == "COMPLETED", job
        assert job["results"] == expose({"exposure_ms": ms, "gain": 2.0})
        assert job["attempts"] == 1  # attempts counts deliveries
    assert server.job(job_ids[1])["results"]["saturated"] is True
    assert worker.stop(timeout=10)
    assert worker.stats.completed == 2 and worker.stats.claimed == 2


def test_handler_exception_marks_the_job_error_with_its_message(
    client: Client, server: BrigadeServer, workers: list[Worker]
) -> None:
    """(b)"""
    errors: list[tuple[Job, BaseException]] = []

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"shutter stuck at {params['exposure_ms']} ms")

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    start(workers, Worker(client, service_id, handler, on_error=lambda j, e: errors.append((j, e))))
    job_id = server.submit(service_id, {"exposure_ms": 42, "gain": 1.0})
    job = server.wait_job(job_id, status_is("ERROR", "COMPLETED"))
    assert job["status"] == "ERROR"
    assert job["error_message"] == "shutter stuck at 42 ms"
    assert job["results"] is None
    wait_for(lambda: len(errors), lambda n: n == 1, 5, what="on_error call")
    assert errors[0][0].id == job_id and isinstance(errors[0][1], RuntimeError)


def test_killed_worker_job_is_redelivered_after_the_lease_and_completed(
    client: Client, server: BrigadeServer, workers: list[Worker], tmp_path: Path
) -> None:
    """(c) kill -9 a worker mid-job; the lease expires; a second worker completes the job."""
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, lease_seconds=2)
    job_id = server.submit(service_id, {"exposure_ms": 100, "gain": 3.0})
    started = tmp_path / "started"
    process = worker_process(server, service_id, started, handler_seconds=300)
    try:
        wait_for(started.exists, bool, 30, what="the first worker starting the job")
        assert started.read_text() == job_id
        first = server.job(job_id)
        assert first["status"] == "WORKING" and first["attempts"] == 1
        # Past two lease lengths the job is still held: the lease is being renewed.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            job = server.job(job_id)
            assert (job["status"], job["attempts"]) == ("WORKING", 1), job
            time.sleep(0.25)
    finally:
        process.kill()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == -9, output

    calls: list[str] = []

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        job = current_job()
        calls.append(job.id if job else "?")
        return expose(params)

    start(workers, Worker(client, service_id, handler, poll_interval=0.2))
    job = server.wait_job(job_id, status_is("COMPLETED", "ERROR"), timeout=20)
    assert job["status"] == "COMPLETED", job
    assert job["results"] == expose({"exposure_ms": 100, "gain": 3.0})
    assert job["attempts"] == 2  # two deliveries: the expired lease and the completion
    assert calls == [job_id]


def worker_process(
    server: BrigadeServer, service_id: str, started: Path, *, handler_seconds: float
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER_PROCESS), server.grpc_url, service_id, str(started), str(handler_seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_lets_a_serving_worker_finish_its_job(server: BrigadeServer, tmp_path: Path) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    job_id = server.submit(service_id, {"exposure_ms": 100, "gain": 3.0})
    later = server.submit(service_id, {"exposure_ms": 100, "gain": 3.0})
    started = tmp_path / "started"
    process = worker_process(server, service_id, started, handler_seconds=1.5)
    try:
        wait_for(started.exists, bool, 30, what="the worker starting the job")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "stopped, 1 completed" in output, output
    assert server.job(job_id)["status"] == "COMPLETED"
    assert server.job(later)["status"] == "REGISTERED"


def test_worker_reports_rejected_results_to_on_error_and_fails_the_job(
    client: Client, server: BrigadeServer, workers: list[Worker]
) -> None:
    """(d) through the worker: the ResultRejected goes to on_error."""
    errors: list[BaseException] = []
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    worker = start(
        workers,
        Worker(client, service_id, lambda p: {"counts": "many"}, on_error=lambda j, e: errors.append(e)),
    )
    job_id = server.submit(service_id, {"exposure_ms": 1, "gain": 1.0})
    job = server.wait_job(job_id, status_is("ERROR", "COMPLETED"))
    assert job["status"] == "ERROR"
    assert job["error_message"].startswith("results rejected by the service's result schema"), job
    wait_for(lambda: len(errors), lambda n: n >= 1, 5, what="on_error call")
    assert isinstance(errors[0], ResultRejected)
    assert errors[0].violations and errors[0].violations[0].field == "results"
    assert worker.stats.rejected == 1


def test_lease_is_extended_while_a_long_handler_runs(
    client: Client, server: BrigadeServer, workers: list[Worker]
) -> None:
    calls = []

    def slow(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        time.sleep(6)  # two lease lengths
        return expose(params)

    # Three seconds: each renewal then has a one-second deadline, which a loaded
    # CI machine on PostgreSQL meets.
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, lease_seconds=3)
    start(workers, Worker(client, service_id, slow, concurrency=1))
    job_id = server.submit(service_id, {"exposure_ms": 7, "gain": 1.0})
    job = server.wait_job(job_id, status_is("COMPLETED", "ERROR"), timeout=30)
    assert (job["status"], job["attempts"]) == ("COMPLETED", 1), job
    assert len(calls) == 1


def test_concurrency_is_bounded(client: Client, server: BrigadeServer, workers: list[Worker]) -> None:
    lock = threading.Lock()
    running = 0
    peak = 0

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    ids = [j.id for j in client.submit_many(service_id, [{"exposure_ms": i + 1, "gain": 1.0} for i in range(9)])]
    start(workers, Worker(client, service_id, handler, concurrency=3, batch_size=2))
    for job_id in ids:
        assert server.wait_job(job_id, status_is("COMPLETED", "ERROR"))["status"] == "COMPLETED"
    assert peak == 3


def test_graceful_stop_finishes_the_running_job(client: Client, server: BrigadeServer) -> None:
    release = threading.Event()
    entered = threading.Event()

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        assert release.wait(30)
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    worker = Worker(client, service_id, handler, concurrency=1).start()
    job_id = server.submit(service_id, {"exposure_ms": 3, "gain": 1.0})
    assert entered.wait(20)
    assert worker.stop(graceful=True, timeout=0.5) is False  # still draining
    later = server.submit(service_id, {"exposure_ms": 4, "gain": 1.0})
    release.set()
    assert worker.join(20)
    assert server.job(job_id)["status"] == "COMPLETED"
    assert server.job(later)["status"] == "REGISTERED"  # not claimed after stop()


def test_hard_stop_releases_the_running_job(client: Client, server: BrigadeServer) -> None:
    release = threading.Event()
    entered = threading.Event()

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(30)
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    worker = Worker(client, service_id, handler, concurrency=1).start()
    job_id = server.submit(service_id, {"exposure_ms": 3, "gain": 1.0})
    assert entered.wait(20)
    try:
        assert worker.stop(graceful=False, timeout=10)
        job = server.job(job_id)
        assert (job["status"], job["attempts"]) == ("REGISTERED", 1), job
        assert worker.stats.released == 1
    finally:
        release.set()


def test_handler_can_ask_for_a_retry(client: Client, server: BrigadeServer, workers: list[Worker]) -> None:
    seen: list[int] = []

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        job = current_job()
        assert job is not None
        seen.append(job.attempts)
        if job.attempts == 1:
            raise RetryJob("cooling down")
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    start(workers, Worker(client, service_id, handler, poll_interval=0.2))
    job_id = server.submit(service_id, {"exposure_ms": 3, "gain": 1.0})
    job = server.wait_job(job_id, status_is("COMPLETED", "ERROR"))
    assert (job["status"], job["attempts"]) == ("COMPLETED", 2)
    assert seen == [1, 2]


def test_worker_for_a_missing_service_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        Worker(client, "00000000-0000-4000-8000-000000000000", expose).run()


def test_worker_survives_a_server_restart(fresh_server: BrigadeServer, workers: list[Worker]) -> None:
    server = fresh_server
    release = threading.Event()

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        if params["exposure_ms"] == 1:  # held across the restart
            assert release.wait(60)
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, lease_seconds=30)
    client = Client(server.grpc_url)
    try:
        start(workers, Worker(client, service_id, handler, concurrency=2, poll_interval=0.5))
        before = server.submit(service_id, {"exposure_ms": 2, "gain": 1.0})
        assert server.wait_job(before, status_is("COMPLETED", "ERROR"))["status"] == "COMPLETED"
        held = server.submit(service_id, {"exposure_ms": 1, "gain": 1.0})
        server.wait_job(held, status_is("WORKING"))

        server.stop()
        time.sleep(1)  # down for a moment: claims and lease renewals fail meanwhile
        server.start()

        release.set()
        after = server.submit(service_id, {"exposure_ms": 3, "gain": 1.0})
        for job_id in (held, after):
            job = server.wait_job(job_id, status_is("COMPLETED", "ERROR"), timeout=30)
            assert (job["status"], job["attempts"]) == ("COMPLETED", 1), job
    finally:
        for w in workers:
            w.stop(graceful=False, timeout=10)
        client.close()


def test_a_handler_can_stop_its_worker(client: Client, server: BrigadeServer) -> None:
    holder: list[Worker] = []

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        holder[0].stop()  # must not wait for itself
        return expose(params)

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    holder.append(Worker(client, service_id, handler, concurrency=1))
    job_id = server.submit(service_id, {"exposure_ms": 3, "gain": 1.0})
    holder[0].start()
    assert holder[0].join(20)
    assert server.job(job_id)["status"] == "COMPLETED"


def test_cancel_reaches_the_running_handler_within_a_second(
    client: Client, server: BrigadeServer, workers: list[Worker]
) -> None:
    """A cancel sets the handler's flag through the queue watch, long before a heartbeat."""
    started = threading.Event()
    seen: list[tuple[float, str | None]] = []

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        started.set()
        deadline = time.monotonic() + 30
        while not job_cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((time.monotonic(), cancel_reason()))
        return {"image": "never-reported", "saturated": False}

    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, timeout=60)
    worker = start(workers, Worker(client, service_id, handler, lease_seconds=60))
    job_id = server.submit(service_id, {"exposure_ms": 10, "gain": 1.0})
    assert started.wait(15), "the handler started"
    cancelled_at = time.monotonic()
    client.cancel(job_id, reason="sample damaged")
    wait_for(lambda: len(seen), bool, 5, what="the handler to see the cancel")
    saw_at, reason = seen[0]
    assert saw_at - cancelled_at < 1.0, saw_at - cancelled_at
    assert reason == "sample damaged"
    wait_for(lambda: worker.stats.cancelled, lambda n: n == 1, 5, what="the worker to count the cancel")
    job = server.job(job_id)
    assert job["status"] == "ERROR", job
    assert worker.stats.completed == 0
