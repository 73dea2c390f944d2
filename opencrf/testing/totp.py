"""RFC 6238 codes for tests, from the base32 secret the enrolment page shows (stdlib only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def totp_code(secret_base32: str, *, step_number: int | None = None, digits: int = 6) -> str:
    """The code for time step `step_number` (default: now), as an authenticator app shows it."""
    padded = secret_base32.upper() + "=" * (-len(secret_base32) % 8)
    key = base64.b32decode(padded)
    counter = current_step() if step_number is None else step_number
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def current_step(period: int = 30) -> int:
    return int(time.time()) // period
