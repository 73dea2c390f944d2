"""The random parts of survey links: tokens, access codes and return codes.

Tokens carry 256 random bits (`secrets.token_urlsafe(32)`); nobody finds another record's
link by trying. Access codes are short enough to type from a letter (9 characters of an
alphabet without look-alikes: about 44 bits) and are tried only under the public pages' rate
limits. Return codes (8 characters, about 39 bits) are checked only together with the link,
never on their own.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_access_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(9))


def new_return_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


def normalise_code(text: str) -> str:
    """A code as typed: case, spaces and hyphens do not matter."""
    return "".join(text.split()).replace("-", "").upper()
