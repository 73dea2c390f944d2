from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from opencrf.audit.models import AuditEvent


@pytest.fixture
def storage_root(settings) -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture
def stored_objects(storage_root):
    """Every object in the test storage, as paths relative to its root."""

    def list_objects() -> list[str]:
        found = []
        for folder, _dirs, files in os.walk(storage_root):
            found += [os.path.relpath(os.path.join(folder, f), storage_root) for f in files]
        return sorted(found)

    return list_objects


def file_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="file."))


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


class FakeClamd:
    """A stand-in for clamd speaking INSTREAM on 127.0.0.1.

    A mock of a real part that cannot run here: ClamAV's signature database cannot be
    downloaded in this environment. It records what it was sent and answers `reply`.
    """

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.command = b""
        self.received = bytearray()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._server.accept()
        with connection, connection.makefile("rb") as stream:
            self.command = stream.read(len(b"zINSTREAM\0"))
            while True:
                (length,) = struct.unpack("!I", stream.read(4))
                if length == 0:
                    break
                self.received += stream.read(length)
            connection.sendall(self.reply)

    def close(self) -> None:
        self._thread.join(timeout=5)
        self._server.close()


@pytest.fixture
def fake_clamd(settings):
    servers: list[FakeClamd] = []

    def start(reply: bytes) -> FakeClamd:
        server = FakeClamd(reply)
        settings.OPENCRF_CLAMD_ADDRESS = server.address
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def unused_address() -> str:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"127.0.0.1:{port}"
