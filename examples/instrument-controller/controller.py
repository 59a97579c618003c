#!/usr/bin/env python3
"""A simulated camera that takes exposures as Brigade jobs.

It registers (or finds) the service "camera-exposure" with a parameter schema
(``exposure_ms``: integer 1..10000, ``gain``: number 0.5..16) and a result schema
(``counts``: integer, ``saturated``: boolean, ...), then takes the service's
jobs one at a time (a camera does one exposure at a time), and reports the
results. Ctrl-C (or SIGTERM) finishes the exposure in progress and exits; a
second Ctrl-C hands it back to the queue and exits at once.

It keeps going if Brigade restarts: it waits for the server at start-up and
the worker reconnects with backoff.

    pip install ./clients/python
    python examples/instrument-controller/controller.py --target http://127.0.0.1:50051
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import threading
import time
from typing import Any

from brigade_client import BrigadeError, Client, Job, Worker, current_job

SERVICE_NAME = "camera-exposure"
SERVICE_VERSION = "1.0.0"

PARAMETERS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Exposure request",
    "type": "object",
    "properties": {
        "exposure_ms": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "description": "Shutter open time in milliseconds",
        },
        "gain": {
            "type": "number",
            "minimum": 0.5,
            "maximum": 16,
            "description": "Amplifier gain",
        },
    },
    "required": ["exposure_ms", "gain"],
    "additionalProperties": False,
}

RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Exposure result",
    "type": "object",
    "properties": {
        "counts": {"type": "integer", "minimum": 0, "maximum": 65535, "description": "Peak pixel value (ADU)"},
        "saturated": {"type": "boolean", "description": "Whether the peak pixel hit full scale"},
        "sensor_temperature_c": {"type": "number"},
        "exposure_ms": {"type": "integer"},
        "gain": {"type": "number"},
    },
    "required": ["counts", "saturated"],
}

FULL_SCALE = 65535  # 16-bit ADC
PHOTON_RATE = 10.0  # counts per ms at gain 1 for the simulated scene
DARK_COUNTS = 100

log = logging.getLogger("instrument-controller")


class SimulatedCamera:
    """A camera that can take one exposure at a time."""

    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._shutter = threading.Lock()
        self._temperature = -20.0

    def expose(self, exposure_ms: int, gain: float) -> dict[str, Any]:
        with self._shutter:
            time.sleep(exposure_ms / 1000 * self.time_scale)
            self._temperature += random.uniform(-0.05, 0.05)
            signal_counts = PHOTON_RATE * exposure_ms * gain
            noise = random.gauss(0, max(1.0, signal_counts) ** 0.5)
            counts = int(max(0.0, DARK_COUNTS + signal_counts + noise))
            saturated = counts >= FULL_SCALE
            return {
                "counts": min(counts, FULL_SCALE),
                "saturated": saturated,
                "sensor_temperature_c": round(self._temperature, 2),
                "exposure_ms": exposure_ms,
                "gain": gain,
            }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--target",
        default=os.environ.get("BRIGADE_JOB_QUEUE_URL", "http://127.0.0.1:50051"),
        help="job-queue gRPC address, as brigade prints it (default: %(default)s, or $BRIGADE_JOB_QUEUE_URL)",
    )
    parser.add_argument("--lease-seconds", type=int, default=None, help="lease length (default: the service's)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply simulated exposure times by this (0 for instant exposures)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )

    log.info("connecting to Brigade at %s", args.target)
    client = Client(args.target, connect_timeout=None)  # wait as long as it takes
    service = None
    while service is None:
        try:
            service = client.register_service(
                SERVICE_NAME,
                "Simulated camera: takes an exposure and reports the peak pixel value",
                PARAMETERS_SCHEMA,
                RESULT_SCHEMA,
                version=SERVICE_VERSION,
            )
        except BrigadeError as e:
            log.warning("could not register the service (%s); retrying", e)
            time.sleep(2)
    log.info("service %s %s has id %s", service.name, service.version, service.id)
    print(f"SERVICE_ID={service.id}", flush=True)

    camera = SimulatedCamera(args.time_scale)

    def take_exposure(params: dict[str, Any]) -> dict[str, Any]:
        job = current_job()
        log.info(
            "job %s: exposing %d ms at gain %s (attempt %d)",
            job.id if job else "?",
            params["exposure_ms"],
            params["gain"],
            (job.attempts + 1) if job else 1,
        )
        result = camera.expose(params["exposure_ms"], params["gain"])
        log.info(
            "job %s: %d counts%s",
            job.id if job else "?",
            result["counts"],
            " (saturated)" if result["saturated"] else "",
        )
        return result

    def on_error(job: Job, error: BaseException) -> None:
        log.error("job %s did not complete: %s", job.id, error)

    worker = Worker(
        client,
        service.id,
        take_exposure,
        concurrency=1,
        lease_seconds=args.lease_seconds,
        on_error=on_error,
    )

    log.info("waiting for exposure jobs")
    # serve() handles SIGINT/SIGTERM: the first finishes the exposure in
    # progress, a second hands it back to the queue.
    worker.serve()
    client.close()
    log.info("done: %s", worker.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
