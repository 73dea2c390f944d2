"""Is the site read-only now? A question lower layers (the API) ask without importing ops.

The operations app registers the answer at start-up (`opencrf.ops.apps.OpsConfig.ready`):
a function that returns the reason writes are refused (maintenance mode and its message), or
None while writes are accepted. With nothing registered, the site is never read-only.
"""

from __future__ import annotations

from collections.abc import Callable

ReasonSource = Callable[[], "str | None"]

_source: ReasonSource | None = None


def register(source: ReasonSource | None) -> None:
    """Make `source` the answer of `read_only_reason` (None unregisters it)."""
    global _source
    _source = source


def read_only_reason() -> str | None:
    """Why writes are refused now, as a translated sentence; None while they are accepted.

    Ask it before a write, not on every read: the answer is read fresh from the database.
    """
    if _source is None:
        return None
    return _source()
