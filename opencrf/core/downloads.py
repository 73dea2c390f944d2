"""The `Content-Disposition` of every download: one spelling for the whole code base."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import quote

_NOT_FILENAME_SAFE = re.compile(r"[^A-Za-z0-9 ._()+-]")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_FILENAME_SAFE.sub("_", decomposed)


def ascii_filename(name: str) -> str:
    """A plain-ASCII stand-in for clients that ignore `filename*`: accents dropped, else "file"."""
    suffix = PurePosixPath(name).suffix
    # No leading dash: a name like "-x.csv" reads as an option to the shell's commands.
    stem = _ascii(name[: len(name) - len(suffix)]).strip(" ").lstrip("-")
    if not stem.strip(" ._"):
        stem = "file"
    return stem + _ascii(suffix)


def content_disposition(
    name: str, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """RFC 6266 / 5987: an ASCII fallback, then the exact UTF-8 name percent-encoded.

    The quoted `filename` alone cannot carry Japanese (HTTP headers are Latin-1, and browsers
    differ in how they read raw UTF-8 there); every current browser prefers `filename*`.
    """
    fallback = ascii_filename(name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
