"""Hooks of queries and the field comment log on records' pages (filled by their feature)."""


def register() -> None:
    """Register this feature's hooks with records (called once from QualityConfig.ready)."""
