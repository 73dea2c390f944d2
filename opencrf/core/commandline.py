"""What every `opencrf` subcommand shares: its error type and how it loads Django."""

from __future__ import annotations

import os
import secrets

SETTINGS_MODULE = "opencrf.config.settings"


class CommandError(Exception):
    """A failure to report in one line, with exit status 1."""


def setup_django(*, installs: bool = False) -> None:
    """Load Django; commands that set up an installation (`installs`) may create its key."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if installs:
        ensure_secret_key()
    import django

    django.setup()


def ensure_secret_key() -> None:
    """Create the data folder; without OPENCRF_SECRET_KEY, keep a key there (mode 0600)."""
    from opencrf.config.env import SECRET_KEY_FILE_NAME, data_dir

    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("OPENCRF_SECRET_KEY"):
        return
    key_file = folder / SECRET_KEY_FILE_NAME
    if not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(50))
        print(f"Created a secret key in {key_file}")
