"""The site address links in e-mails use (OPENCRF_SITE_URL), and its stand-in when unset.

Activation and password-reset links must point where users open the site. An unset
OPENCRF_SITE_URL used to mean http://127.0.0.1:8000 whatever port the server ran on; now
`opencrf serve` puts in the address it listens at (good for a trial on one machine) and warns,
and `opencrf check` warns outside debug mode (and fails with `--deploy`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

VARIABLE = "OPENCRF_SITE_URL"
FALLBACK = "http://127.0.0.1:8000"
# A server listening on every interface is reached on this machine at loopback.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}  # noqa: S104 (names, not binds)


def listening_url(host: str, port: int) -> str:
    """The plain-HTTP address of a server bound to `host`:`port`."""
    shown = _WILDCARDS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


def unset_warning(url: str) -> str:
    return (
        f"{VARIABLE} is unset: links in e-mails (account activation, password reset) point at "
        f"{url}. Set {VARIABLE} to the address users open, e.g. https://edc.example.ac.jp."
    )


def unset_warning_outside_serve() -> str:
    """The warning of a process that is not the server (`opencrf check`): it cannot know the
    port `opencrf serve` listens at, and must not name a port as if it did."""
    return (
        f"{VARIABLE} is unset: links in e-mails (account activation, password reset) point at "
        f"the address `opencrf serve` listens at, or at {FALLBACK} when a separate "
        f"`opencrf worker` sends them. Set {VARIABLE} to the address users open, "
        "e.g. https://edc.example.ac.jp."
    )


def default_for_serve(
    host: str, port: int, environ: MutableMapping[str, str] = os.environ
) -> str | None:
    """Before settings are read: when OPENCRF_SITE_URL is unset, set it in this process (and
    the server's workers, which it forks) to the address `serve` listens at, and return the
    warning to print; None when it is set."""
    if environ.get(VARIABLE, "").strip():
        return None
    url = listening_url(host, port)
    environ[VARIABLE] = url
    return unset_warning(url)
