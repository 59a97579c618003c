"""A token, a CA and a client certificate against a real job-queue process
started with a tokens file and TLS (certificates made here with openssl)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from brigade_client import BrigadeError, Client, Unavailable
from conftest import EXPOSURE_PARAMS, EXPOSURE_RESULT, brigade_binary, free_port

ADMIN = "brg_python_admin_0123456789abcdef0123456789"
IDENTITY = "scope-7.lab"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """ca.pem; server.pem/.key for 127.0.0.1; client.pem/.key with CN=IDENTITY."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=python test ca", cwd=d)
    for name, cn, ext in (
        ("server", "job-queue", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("client", IDENTITY, f"subjectAltName=DNS:{IDENTITY}\nextendedKeyUsage=clientAuth\n"),
    ):
        (d / f"{name}.ext").write_text(ext)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={cn}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture()
def secured(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    make_pki(tmp_path)
    tokens = {
        "tokens": [{"name": "admin", "token": ADMIN, "scopes": ["admin"]}],
        "certificates": [{"identity": IDENTITY, "scopes": ["work"], "services": ["scope-7"]}],
    }
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIGADE_") and k != "DATABASE_URL"}
    env.update(
        BRIGADE_JOB_QUEUE_ADDR=f"127.0.0.1:{port}",
        BRIGADE_DATA_DIR=str(tmp_path),
        BRIGADE_TOKENS_FILE=str(tmp_path / "tokens.json"),
        BRIGADE_TLS_CERT=str(tmp_path / "server.pem"),
        BRIGADE_TLS_KEY=str(tmp_path / "server.key"),
        BRIGADE_TLS_CLIENT_CA=str(tmp_path / "ca.pem"),
        BRIGADE_RECIPE_TYPES_URL="http://127.0.0.1:9",
        NO_COLOR="1",
    )
    log = (tmp_path / "job-queue.log").open("w")
    process = subprocess.Popen(
        [str(brigade_binary().parent / "brigade-job-queue")], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_token_ca_and_client_certificate(secured: str, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    # The server's certificate is not trusted without the CA.
    with pytest.raises(Unavailable):
        Client(secured, token=ADMIN, connect_timeout=2)
    with Client(secured, ca_cert=ca, connect_timeout=20) as anonymous:
        with pytest.raises(BrigadeError) as refused:
            list(anonymous.list_services())
        assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
    with Client(secured, ca_cert=ca.read_bytes(), token=ADMIN) as admin:
        mine = admin.register_service("scope-7", "", EXPOSURE_PARAMS, EXPOSURE_RESULT)
        other = admin.register_service("scope-8", "", EXPOSURE_PARAMS, EXPOSURE_RESULT)
        assert {s.name for s in admin.list_services()} >= {"scope-7", "scope-8"}
    # The certificate alone is the principal: work on scope-7 only.
    with Client(secured, ca_cert=ca, client_cert=tmp_path / "client.pem", client_key=tmp_path / "client.key") as cert:
        cert.heartbeat(mine.id)
        with pytest.raises(BrigadeError) as denied:
            cert.heartbeat(other.id)
        assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(ValueError):
        Client(secured, client_cert=tmp_path / "client.pem")
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:9", ca_cert=ca, connect_timeout=0)
