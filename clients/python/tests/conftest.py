"""End-to-end fixtures: a real Brigade server, started per test session.

The server is not built here: it is ``$BRIGADE_BIN`` or ``<repo>/target/debug/brigade``
(``cargo build --bin brigade``). It runs on SQLite in a temporary directory (or,
with ``$BRIGADE_PY_TEST_POSTGRES`` set to a PostgreSQL URL, in a database of its
own on that server, made with ``psql``), on ports the OS picks (or given ones, for restart tests); the URLs it prints are
parsed from its stdout, and it is stopped with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from brigade_client import Client, RecipeClient

REPO = Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT = 30.0
T = TypeVar("T")

POSTGRES_VAR = "BRIGADE_PY_TEST_POSTGRES"


def postgres_for(data_dir: Path) -> str | None:
    """With ``$BRIGADE_PY_TEST_POSTGRES`` set, a database of ``data_dir``'s own on that
    server (named from the directory, so a restarted server finds it again)."""
    admin = os.environ.get(POSTGRES_VAR)
    if not admin:
        return None
    import hashlib

    name = "brigade_py_" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    found = subprocess.run(
        ["psql", "-qAt", admin, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    if not found:
        subprocess.run(["psql", "-q", admin, "-c", f"CREATE DATABASE {name}"], check=True, timeout=30)
    return admin.rsplit("/", 1)[0] + "/" + name


_URL_RE = re.compile(r"^\s*(REST gateway|job-queue gRPC|recipe-types gRPC):\s+(http://\S+)\s*$")


def brigade_binary() -> Path:
    path = Path(os.environ.get("BRIGADE_BIN") or REPO / "target" / "debug" / "brigade")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"the brigade binary was not found at {path}: run `cargo build --bin brigade` "
            "in the repository or set BRIGADE_BIN",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BrigadeServer:
    """One ``brigade`` process; ``restart()`` keeps its ports and data directory."""

    def __init__(self, data_dir: Path, *, fixed_ports: bool = False) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "brigade.log"
        if fixed_ports:
            self._addrs = {k: f"127.0.0.1:{free_port()}" for k in ("gateway", "job_queue", "recipe_types")}
        else:
            self._addrs = {k: "127.0.0.1:0" for k in ("gateway", "job_queue", "recipe_types")}
        self.process: subprocess.Popen[str] | None = None
        self.rest_url = ""
        self.grpc_url = ""
        self.recipes_url = ""
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env["NO_COLOR"] = "1"
        env.pop("DATABASE_URL", None)  # only what postgres_for() says counts
        database = postgres_for(self.data_dir)
        self.process = subprocess.Popen(
            [
                str(brigade_binary()),
                *(["--database-url", database] if database else []),
                "--gateway-addr",
                self._addrs["gateway"],
                "--job-queue-addr",
                self._addrs["job_queue"],
                "--recipe-types-addr",
                self._addrs["recipe_types"],
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        urls: dict[str, str] = {}
        ready = threading.Event()
        process = self.process

        def read() -> None:
            # Keeps draining stdout (the server logs there) so it never blocks on a full pipe.
            assert process.stdout is not None
            with open(self.log_path, "a", encoding="utf-8") as log:
                for line in process.stdout:
                    log.write(line)
                    log.flush()
                    m = _URL_RE.match(line)
                    if m:
                        urls[m.group(1)] = m.group(2)
                        if len(urls) == 3:
                            ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(STARTUP_TIMEOUT) or len(urls) < 3:
            self.stop()
            raise RuntimeError(f"brigade did not start; see {self.log_path}:\n{self.log_tail()}")
        self.rest_url = urls["REST gateway"]
        self.grpc_url = urls["job-queue gRPC"]
        self.recipes_url = urls["recipe-types gRPC"]
        # Later starts reuse the ports this one got.
        self._addrs["gateway"] = self.rest_url.removeprefix("http://")
        self._addrs["job_queue"] = self.grpc_url.removeprefix("http://")
        self._addrs["recipe_types"] = self.recipes_url.removeprefix("http://")

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -------------------------------------------------------------- REST

    def rest(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.rest_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def create_service(
        self,
        registration_schema: dict[str, Any],
        result_schema: dict[str, Any],
        **extra: Any,
    ) -> str:
        body = {
            "name": f"test-{uuid.uuid4().hex[:12]}",
            "description": "created by the Python client tests",
            "job_registration_schema": registration_schema,
            "job_result_schema": result_schema,
            **extra,
        }
        status, doc = self.rest("POST", "/services", body)
        assert status == 201, (status, doc)
        return str(doc["data"]["id"])

    def submit(self, service_id: str, parameters: dict[str, Any]) -> str:
        status, doc = self.rest("POST", f"/services/{service_id}/jobs", {"parameters": parameters})
        assert status == 201, (status, doc)
        assert doc["data"]["status"] == "REGISTERED", doc
        return str(doc["data"]["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        status, doc = self.rest("GET", f"/jobs/{job_id}")
        assert status == 200, (status, doc)
        return dict(doc["data"])

    def wait_job(
        self, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """Polls GET /jobs/{id} until predicate(job) holds; fails with the last state after timeout."""
        return wait_for(lambda: self.job(job_id), predicate, timeout, what=f"job {job_id}")


def wait_for(
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    timeout: float,
    *,
    what: str = "condition",
    interval: float = 0.05,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if predicate(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last: {value!r}")
        time.sleep(interval)


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda job: job.get("status") in statuses


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrigadeServer]:
    s = BrigadeServer(tmp_path_factory.mktemp("brigade"))
    s.start()
    yield s
    s.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[BrigadeServer]:
    """A server of this test's own, on fixed ports, so that it can be restarted."""
    s = BrigadeServer(tmp_path / "brigade", fixed_ports=True)
    s.start()
    yield s
    s.stop()


@pytest.fixture()
def client(server: BrigadeServer) -> Iterator[Client]:
    with Client(server.grpc_url, connect_timeout=10) as c:
        yield c


@pytest.fixture()
def recipes(server: BrigadeServer) -> Iterator[RecipeClient]:
    with RecipeClient(server.recipes_url, connect_timeout=10) as c:
        yield c


EXPOSURE_PARAMS = {
    "type": "object",
    "properties": {
        "exposure_ms": {"type": "integer", "minimum": 1, "maximum": 10000},
        "gain": {"type": "number"},
    },
    "required": ["exposure_ms", "gain"],
    "additionalProperties": False,
}
EXPOSURE_RESULT = {
    "type": "object",
    "properties": {"counts": {"type": "integer", "minimum": 0}, "saturated": {"type": "boolean"}},
    "required": ["counts", "saturated"],
}


def expose(params: dict[str, Any]) -> dict[str, Any]:
    counts = int(params["exposure_ms"] * params["gain"] * 10)
    return {"counts": min(counts, 65535), "saturated": counts >= 65535}
