"""A worker in a process of its own, for tests that kill it.

usage: python worker_process.py GRPC_URL SERVICE_ID STARTED_FILE HANDLER_SECONDS

The handler writes the job id to STARTED_FILE, then sleeps HANDLER_SECONDS and
returns a result, so that a test can kill -9 this process while it holds the
job's lease, or send it SIGTERM (Worker.serve: finish the job, then exit).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from brigade_client import Client, Worker, current_job


def main() -> None:
    target, service_id, started = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    seconds = float(sys.argv[4])
    logging.basicConfig(level=logging.INFO, format="worker_process %(levelname)s %(name)s: %(message)s")

    def handler(params: dict[str, Any]) -> dict[str, Any]:
        job = current_job()
        assert job is not None
        tmp = started.with_suffix(".tmp")
        tmp.write_text(job.id)
        tmp.rename(started)
        time.sleep(seconds)
        return {"counts": 1, "saturated": False}

    client = Client(target, connect_timeout=10)
    worker = Worker(client, service_id, handler, concurrency=1, poll_interval=0.2)
    worker.serve()
    print(f"worker_process: stopped, {worker.stats.completed} completed", flush=True)


if __name__ == "__main__":
    main()
