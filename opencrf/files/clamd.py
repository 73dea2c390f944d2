"""A minimal client for ClamAV's clamd INSTREAM protocol, fed chunk by chunk while a file streams.

Protocol (clamd(8)): send `zINSTREAM\\0`, then each chunk as a 4-byte big-endian length and the
bytes, then a zero length. clamd answers `stream: OK\\0` or `stream: <signature> FOUND\\0`;
anything else (e.g. `INSTREAM size limit exceeded. ERROR`) is a scanner error.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

TIMEOUT_SECONDS = 120.0
_MAX_REPLY = 4096
# clamd refuses chunks larger than its StreamMaxLength; stay well below any sane setting.
_MAX_CHUNK = 1024 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not give a verdict."""


@dataclass(frozen=True, slots=True)
class Verdict:
    clean: bool
    signature: str = ""


def _connect(address: str, timeout: float) -> socket.socket:
    """`address` is a Unix socket path (starting with "/") or host:port."""
    try:
        if address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        host, _, port = address.rpartition(":")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    except (OSError, ValueError) as error:
        raise ScannerUnavailable(f"cannot connect to clamd at {address}: {error}") from error


def parse_reply(reply: bytes) -> Verdict:
    text = reply.rstrip(b"\0\n").decode("utf-8", "replace")
    if text == "stream: OK":
        return Verdict(clean=True)
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        return Verdict(clean=False, signature=text.removeprefix("stream: ").removesuffix(" FOUND"))
    raise ScannerUnavailable(f"clamd gave no verdict: {text[:200]!r}")


class InstreamScan:
    """One INSTREAM session: `send` each chunk, then `finish` for the verdict; or `close`."""

    def __init__(self, address: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self._sock = _connect(address, timeout)
        self._send(b"zINSTREAM\0")

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as error:
            self.close()
            raise ScannerUnavailable(f"clamd stopped reading: {error}") from error

    def send(self, chunk: bytes) -> None:
        for start in range(0, len(chunk), _MAX_CHUNK):
            part = chunk[start : start + _MAX_CHUNK]
            self._send(struct.pack("!I", len(part)) + part)

    def finish(self) -> Verdict:
        self._send(struct.pack("!I", 0))
        try:
            return parse_reply(self._read_reply())
        finally:
            self.close()

    def _read_reply(self) -> bytes:
        reply = b""
        try:
            while b"\0" not in reply and len(reply) < _MAX_REPLY:
                data = self._sock.recv(_MAX_REPLY)
                if not data:
                    break
                reply += data
        except OSError as error:
            raise ScannerUnavailable(f"no reply from clamd: {error}") from error
        return reply

    def close(self) -> None:
        self._sock.close()
