"""The Client against a real server: services, jobs and the lease protocol."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from brigade_client import (
    AlreadyExists,
    BrigadeError,
    Client,
    ErrorReason,
    InvalidArgument,
    JobStatus,
    JobSubmission,
    LeaseLost,
    NotFound,
    ResultRejected,
    Unavailable,
)
from conftest import EXPOSURE_PARAMS, EXPOSURE_RESULT, BrigadeServer, wait_for


def test_register_service_is_idempotent(client: Client) -> None:
    name = f"idempotent-{uuid.uuid4().hex[:8]}"
    first = client.register_service(name, "first", EXPOSURE_PARAMS, EXPOSURE_RESULT, lease_seconds=7, max_attempts=5)
    again = client.register_service(name, "second", EXPOSURE_PARAMS, EXPOSURE_RESULT)
    assert again.id == first.id
    assert (first.lease_seconds, first.max_attempts, first.version) == (7, 5, "1.0.0")
    assert first.registration_schema == EXPOSURE_PARAMS
    assert client.get_service(first.id).name == name
    other = client.register_service(name, "v2", EXPOSURE_PARAMS, EXPOSURE_RESULT, version="2.0.0")
    assert other.id != first.id


def test_submit_and_get_job(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    job = client.submit(service_id, {"exposure_ms": 20, "gain": 1.5})
    assert job.status is JobStatus.REGISTERED
    assert job.parameters == {"exposure_ms": 20, "gain": 1.5}
    assert job.results is None and job.attempts == 0
    assert client.get_job(job.id) == job
    assert server.job(job.id)["status"] == "REGISTERED"
    assert [j.id for j in client.list_jobs(service_id)] == [job.id]


def test_submit_controls(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    low = client.submit(service_id, {"exposure_ms": 1, "gain": 1.0}, priority=1)
    high = client.submit(service_id, {"exposure_ms": 2, "gain": 1.0}, priority=9)
    assert high.priority == 9
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    deferred = client.submit(service_id, {"exposure_ms": 3, "gain": 1.0}, run_at=later)
    assert deferred.due_at is not None and deferred.due_at > datetime.now(timezone.utc)
    claimed = client.claim(service_id, 10, worker_id="w")
    assert [c.job.id for c in claimed] == [high.id, low.id]

    first = client.submit(service_id, {"exposure_ms": 4, "gain": 1.0}, idempotency_key="k-1")
    assert first.idempotency_key == "k-1"
    again = client.submit(service_id, {"exposure_ms": 4, "gain": 1.0}, idempotency_key="k-1")
    assert again.id == first.id
    with pytest.raises(AlreadyExists):
        client.submit(service_id, {"exposure_ms": 5, "gain": 1.0}, idempotency_key="k-1")


def test_parameters_violating_the_schema_are_rejected(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    with pytest.raises(InvalidArgument) as info:
        client.submit(service_id, {"exposure_ms": 0, "gain": 1.0})
    assert not isinstance(info.value, ResultRejected)
    assert info.value.violations, info.value
    assert info.value.violations[0].field == "parameters"


def test_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.get_job(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        client.get_service(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        client.submit(str(uuid.uuid4()), {})


def test_complete_with_results_violating_the_schema_raises_result_rejected(
    client: Client, server: BrigadeServer
) -> None:
    """(d) The violation reaches the caller as ResultRejected; the job stays WORKING."""
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    job_id = server.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
    [leased] = client.claim(service_id, 5)
    assert leased.id == job_id and leased.lease_token
    assert leased.job.status is JobStatus.WORKING

    with pytest.raises(ResultRejected) as info:
        client.complete(job_id, leased.lease_token, {"counts": -3, "saturated": "no"})
    violations = info.value.violations
    assert len(violations) >= 2, violations
    assert all(v.field == "results" for v in violations)
    assert any("saturated" in v.description or "boolean" in v.description for v in violations), violations
    rest = server.job(job_id)
    assert rest["status"] == "WORKING" and rest["results"] is None

    done = client.complete(job_id, leased.lease_token, {"counts": 50, "saturated": False})
    assert done.status is JobStatus.COMPLETED
    assert server.job(job_id)["results"] == {"counts": 50, "saturated": False}


def test_stale_lease_token_raises_lease_lost(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    job_id = server.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
    [leased] = client.claim(service_id)
    with pytest.raises(LeaseLost) as lost:
        client.complete(job_id, "not-the-token", {"counts": 1, "saturated": False})
    assert lost.value.reason == ErrorReason.ERROR_REASON_STALE_LEASE
    assert lost.value.reason_name == "STALE_LEASE"
    with pytest.raises(LeaseLost):
        client.extend_lease(job_id, "not-the-token")
    assert server.job(job_id)["status"] == "WORKING"
    assert client.extend_lease(job_id, leased.lease_token, lease_seconds=60) is not None
    client.fail(job_id, leased.lease_token, "broken detector")
    job = client.get_job(job_id)
    assert (job.status, job.error_message) == (JobStatus.ERROR, "broken detector")
    with pytest.raises(LeaseLost):
        client.complete(job_id, leased.lease_token, {"counts": 1, "saturated": False})


def test_fail_with_retry_requeues_until_attempts_run_out(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, max_attempts=2)
    job_id = server.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
    [first] = client.claim(service_id)
    assert client.fail(job_id, first.lease_token, "try again", retry=True).status is JobStatus.REGISTERED
    # The retry waits out the service's backoff (a second by default).
    [second] = wait_for(lambda: client.claim(service_id), bool, 10, what="the retried job after its backoff")
    failed = client.fail(job_id, second.lease_token, "still broken", retry=True)
    assert (failed.status, failed.attempts, failed.error_message) == (JobStatus.ERROR, 2, "still broken")


def test_wait_for_job_follows_watch_job(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    job_id = server.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
    with pytest.raises(TimeoutError):
        client.wait_for_job(job_id, timeout=0.3)
    [leased] = client.claim(service_id)
    client.complete(job_id, leased.lease_token, {"counts": 1, "saturated": False})
    assert client.wait_for_job(job_id, timeout=10).results == {"counts": 1, "saturated": False}


def test_connect_timeout_raises_unavailable() -> None:
    from conftest import free_port

    with pytest.raises(Unavailable):
        Client(f"http://127.0.0.1:{free_port()}", connect_timeout=0.5)


def test_error_reasons_are_enum_members(client: Client, server: BrigadeServer) -> None:
    with pytest.raises(NotFound) as missing_job:
        client.get_job(str(uuid.uuid4()))
    assert missing_job.value.reason == ErrorReason.ERROR_REASON_JOB_NOT_FOUND
    with pytest.raises(NotFound) as missing_service:
        client.submit(str(uuid.uuid4()), {"exposure_ms": 5, "gain": 1.0})
    assert missing_service.value.reason == ErrorReason.ERROR_REASON_SERVICE_NOT_FOUND
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    with pytest.raises(InvalidArgument) as invalid:
        client.submit(service_id, {"exposure_ms": "five"})
    assert invalid.value.reason == ErrorReason.ERROR_REASON_JSON_SCHEMA_VALIDATION
    # Every enum member the proto declares is there, under its generated name.
    assert ErrorReason.Name(ErrorReason.ERROR_REASON_TOO_LARGE) == "ERROR_REASON_TOO_LARGE"
    unknown = BrigadeError("from a newer server", reason="SOMETHING_NEW")
    assert (unknown.reason, unknown.reason_name) == (ErrorReason.ERROR_REASON_UNSPECIFIED, "SOMETHING_NEW")


def test_service_controls_are_sent_and_shown(client: Client) -> None:
    name = f"controls-{uuid.uuid4().hex[:8]}"
    service = client.create_service(
        name,
        "controls",
        EXPOSURE_PARAMS,
        EXPOSURE_RESULT,
        max_concurrency=1,
        paused=True,
        retry_backoff_base_ms=250,
        retry_backoff_cap_ms=4000,
    )
    assert (service.max_concurrency, service.paused) == (1, True)
    assert (service.retry_backoff_base_ms, service.retry_backoff_cap_ms) == (250, 4000)
    updated = client.update_service(service.id, max_concurrency=3, retry_backoff_base_ms=500, description="changed")
    assert (updated.max_concurrency, updated.retry_backoff_base_ms, updated.description) == (3, 500, "changed")
    assert updated.paused and updated.retry_backoff_cap_ms == 4000  # untouched fields stay
    cleared = client.update_service(service.id, clear_max_concurrency=True)
    assert cleared.max_concurrency is None
    assert client.get_service(service.id).max_concurrency is None


def test_a_paused_service_hands_out_no_claim_until_resumed(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    assert client.pause(service_id).paused
    job = client.submit(service_id, {"exposure_ms": 5, "gain": 1.0})  # still accepted
    assert client.claim(service_id) == []
    assert not client.resume(service_id).paused
    assert [c.id for c in client.claim(service_id)] == [job.id]


def test_max_concurrency_one_leaves_a_second_claim_empty(client: Client) -> None:
    service = client.create_service(
        f"instrument-{uuid.uuid4().hex[:8]}", "one at a time", EXPOSURE_PARAMS, EXPOSURE_RESULT, max_concurrency=1
    )
    first = client.submit(service.id, {"exposure_ms": 5, "gain": 1.0})
    second = client.submit(service.id, {"exposure_ms": 6, "gain": 1.0})
    [working] = client.claim(service.id, 5, worker_id="a")
    assert working.id == first.id
    assert client.claim(service.id, 5, worker_id="b") == []
    client.complete(working.id, working.lease_token, {"counts": 1, "saturated": False})
    assert [c.id for c in client.claim(service.id, 5, worker_id="b")] == [second.id]


def test_submit_many_with_controls(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    batch: list[JobSubmission | dict[str, Any]] = [
        JobSubmission({"exposure_ms": 1, "gain": 1.0}, priority=1, idempotency_key="b-1"),
        JobSubmission({"exposure_ms": 2, "gain": 1.0}, priority=7, idempotency_key="b-2"),
        JobSubmission({"exposure_ms": 3, "gain": 1.0}, run_at=later),
        {"exposure_ms": 4, "gain": 1.0},
    ]
    low, high, deferred, plain = client.submit_many(service_id, batch)
    assert (low.priority, high.priority, low.idempotency_key) == (1, 7, "b-1")
    assert deferred.due_at is not None and deferred.due_at > datetime.now(timezone.utc) + timedelta(minutes=30)
    again = client.submit_many(service_id, batch[:2])
    assert [j.id for j in again] == [low.id, high.id]
    with pytest.raises(AlreadyExists):
        client.submit_many(service_id, [JobSubmission({"exposure_ms": 9, "gain": 1.0}, idempotency_key="b-1")])
    claimed = client.claim(service_id, 10)
    assert [c.id for c in claimed] == [high.id, low.id, plain.id]


def test_retry_and_delete_a_job(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, max_attempts=1)
    job_id = server.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
    [leased] = client.claim(service_id)
    assert client.fail(job_id, leased.lease_token, "broken").status is JobStatus.ERROR
    assert client.claim(service_id) == []
    assert client.retry_job(job_id).status is JobStatus.REGISTERED
    [again] = wait_for(lambda: client.claim(service_id), bool, 10, what="the retried job")
    assert again.id == job_id
    client.complete(job_id, again.lease_token, {"counts": 1, "saturated": False})
    client.delete_job(job_id)
    with pytest.raises(NotFound):
        client.get_job(job_id)
    assert list(client.list_jobs(service_id)) == []


def test_bulk_cancel_and_retry_by_status(client: Client, server: BrigadeServer) -> None:
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT, max_attempts=1)
    jobs = client.submit_many(service_id, [{"exposure_ms": n, "gain": 1.0} for n in (1, 2, 3)])
    [working] = client.claim(service_id)
    assert client.cancel_jobs(service_id, [JobStatus.REGISTERED], reason="bench closed") == 2
    states = {j.id: j for j in client.list_jobs(service_id)}
    assert states[working.id].status is JobStatus.WORKING
    assert sorted(j.id for j in states.values() if j.cancelled) == sorted(j.id for j in jobs if j.id != working.id)
    assert client.retry_jobs(service_id, [JobStatus.ERROR]) == 2
    registered = [j.id for j in client.list_jobs(service_id) if j.status is JobStatus.REGISTERED]
    assert sorted(registered) == sorted(j.id for j in jobs if j.id != working.id)
    claimed = wait_for(lambda: client.claim(service_id, 5), bool, 10, what="the retried jobs")
    assert {c.id for c in claimed} <= set(registered)


def test_safe_calls_ride_out_an_outage_and_unsafe_ones_do_not(fresh_server: BrigadeServer) -> None:
    """A keyed submit and a completion are retried while the server restarts; an unkeyed submit is not."""
    import threading

    server = fresh_server
    service_id = server.create_service(EXPOSURE_PARAMS, EXPOSURE_RESULT)
    with Client(server.grpc_url, connect_timeout=10, retry_timeout=30) as c:
        c.submit(service_id, {"exposure_ms": 5, "gain": 1.0})
        [leased] = c.claim(service_id, 1)
        server.stop()
        with pytest.raises(Unavailable):
            c.submit(service_id, {"exposure_ms": 6, "gain": 1.0})
        restarter = threading.Thread(target=server.start)
        threading.Timer(1.0, restarter.start).start()
        # Both calls are sent while the server is down and answered once it is back.
        done = c.complete(leased.id, leased.lease_token, {"counts": 1, "saturated": False})
        assert done.status is JobStatus.COMPLETED
        again = c.complete(leased.id, leased.lease_token, {"counts": 1, "saturated": False})
        assert again.id == done.id and again.status is JobStatus.COMPLETED
        keyed = c.submit(service_id, {"exposure_ms": 7, "gain": 1.0}, idempotency_key="outage-1")
        twice = c.submit(service_id, {"exposure_ms": 7, "gain": 1.0}, idempotency_key="outage-1")
        assert twice.id == keyed.id
        restarter.join(timeout=30)
        statuses = [server.job(j.id)["status"] for j in c.list_jobs(service_id)]
        assert len(statuses) == 2, statuses  # the unkeyed submit during the outage made nothing
