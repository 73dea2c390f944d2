"""Read OpenCRF's configuration from the environment, once, failing fast.

Every variable read here is listed with a one-line comment in `.env.example`
and in `docs/operations/configuration.md`.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def data_dir() -> Path:
    """The folder holding the embedded database, uploaded files and generated secrets."""
    return Path(env_str("OPENCRF_DATA_DIR", "var")).expanduser().resolve()


SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105 (a file name, not a secret)


def secret_key(debug: bool) -> str:
    """The secret key: from OPENCRF_SECRET_KEY, else the file `opencrf init` wrote.

    There is no fallback value: without either, a production process refuses to start,
    and a development process gets a key that changes at every start.
    """
    key = env_str("OPENCRF_SECRET_KEY")
    if key:
        return key
    key_file = data_dir() / SECRET_KEY_FILE_NAME
    if key_file.is_file():
        return key_file.read_text(encoding="ascii").strip()
    if debug:
        from django.core.management.utils import get_random_secret_key

        return get_random_secret_key()
    raise ImproperlyConfigured(
        f"No secret key: set OPENCRF_SECRET_KEY, or run `opencrf init` to create {key_file}."
    )


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (case-insensitive); anything else fails fast, naming the variable."""
    value = env_str(name, default).lower()
    if value not in choices:
        allowed = ", ".join(choices)
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, not {value!r}")
    return value
