"""Encryption of backup parts: AES-256-GCM in framed chunks, with a key derived by scrypt.

A part is a sequence of frames: `length (4 bytes, big-endian) | nonce (12) | ciphertext+tag`.
Each frame holds at most CHUNK_SIZE bytes of plaintext under its own random nonce; its
associated data binds it to the backup, the part, its index and whether it is the last frame.
So a reordered, dropped, swapped or truncated frame fails authentication, and a part that ends
before its final frame is refused as truncated.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from opencrf.ops.backups.errors import CorruptBackup, WrongKey

CHUNK_SIZE = 1024 * 1024
NONCE_SIZE = 12
TAG_SIZE = 16
SALT_SIZE = 16
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_KEY_CHECK = b"opencrf-backup-key-check"


def derive_key(passphrase: str, salt: bytes, *, n: int = SCRYPT_N) -> bytes:
    """A 256-bit key from the passphrase (scrypt, 32 MiB of memory with the default n)."""
    kdf = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P)
    return kdf.derive(passphrase.encode("utf-8"))


def key_check(key: bytes, backup_id: str) -> str:
    """A token stored in the clear manifest; `check_key` tells a wrong key from a damaged part."""
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, _KEY_CHECK, backup_id.encode())
    return (nonce + sealed).hex()


def check_key(key: bytes, backup_id: str, token: str) -> None:
    raw = bytes.fromhex(token)
    try:
        AESGCM(key).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], backup_id.encode())
    except InvalidTag:
        raise WrongKey(
            f"backup {backup_id} is encrypted with another key than OPENCRF_BACKUP_KEY"
        ) from None


def _associated(backup_id: str, part: str, index: int, final: bool) -> bytes:
    return f"{backup_id}/{part}".encode() + struct.pack(">Q?", index, final)


class EncryptingWriter:
    """A write-only binary stream that encrypts into `sink` frame by frame."""

    def __init__(self, sink: Any, key: bytes, backup_id: str, part: str) -> None:
        self._sink, self._aead = sink, AESGCM(key)
        self._backup_id, self._part = backup_id, part
        self._buffer = bytearray()
        self._index = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), final=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def close(self) -> None:
        """Write the final frame (possibly empty); the sink stays open."""
        if not self.closed:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self.closed = True

    def _emit(self, plain: bytes, *, final: bool) -> None:
        nonce = os.urandom(NONCE_SIZE)
        associated = _associated(self._backup_id, self._part, self._index, final)
        sealed = self._aead.encrypt(nonce, plain, associated)
        self._sink.write(struct.pack(">I", len(sealed)) + nonce + sealed)
        self._index += 1


class DecryptingReader:
    """A read-only binary stream of the plaintext of an encrypted part."""

    def __init__(self, source: BinaryIO, key: bytes, backup_id: str, part: str) -> None:
        self._source, self._aead = source, AESGCM(key)
        self._backup_id, self._part = backup_id, part
        self._buffer = bytearray()
        self._index = 0
        self._finished = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._finished and (size < 0 or len(self._buffer) < size):
            self._buffer += self._next_frame()
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _next_frame(self) -> bytes:
        header = _read_exactly(self._source, 4)
        if not header:
            raise CorruptBackup(f"part {self._part} is truncated: its final frame is missing")
        if len(header) < 4:
            raise CorruptBackup(f"part {self._part} is truncated inside a frame")
        (length,) = struct.unpack(">I", header)
        if length < TAG_SIZE or length > CHUNK_SIZE + TAG_SIZE:
            raise CorruptBackup(f"part {self._part} has a damaged frame {self._index}")
        body = _read_exactly(self._source, NONCE_SIZE + length)
        if len(body) < NONCE_SIZE + length:
            raise CorruptBackup(f"part {self._part} is truncated inside frame {self._index}")
        plain = self._open(body, final=False)
        if plain is None:
            plain = self._open(body, final=True)
            if plain is None:
                raise CorruptBackup(
                    f"part {self._part} fails authentication at frame {self._index}: "
                    "it was changed, reordered or belongs to another backup"
                )
            self._finished = True
            if _read_exactly(self._source, 1):
                raise CorruptBackup(f"part {self._part} has data after its final frame")
        self._index += 1
        return plain

    def _open(self, body: bytes, *, final: bool) -> bytes | None:
        associated = _associated(self._backup_id, self._part, self._index, final)
        try:
            return self._aead.decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:], associated)
        except InvalidTag:
            return None


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = source.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
