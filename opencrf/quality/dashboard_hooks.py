"""Hooks of the query dashboard on records' pages (filled by its feature)."""


def register() -> None:
    """Register this feature's hooks with records (called once from QualityConfig.ready)."""
