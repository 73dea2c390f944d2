"""What the online designer needs to know about stored data, answered by records.

The designer (in dictionary) must not import records, which sits above it. Records registers
a `DesignerData` at start-up (`RecordsConfig.ready`); until then, and in a process without
records, every count is zero and no record can be tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from opencrf.accounts.models import User
from opencrf.dictionary.columns import FieldRow
from opencrf.projects.models import Project


class DesignerData(Protocol):
    def form_counts(self, project: Project) -> dict[str, int]:
        """Instrument name → number of stored form instances (FormData rows)."""
        ...

    def code_counts(self, project: Project, row: FieldRow) -> dict[str, int]:
        """Choice code → number of form instances storing it in the field `row`."""
        ...

    def value_count(self, project: Project, row: FieldRow) -> int:
        """How many form instances hold a value (not blank) in the field `row`."""
        ...

    def record_ids(self, user: User, project: Project, limit: int) -> list[str]:
        """The first `limit` records `user` may see, in the dashboard's order."""
        ...

    def calc_result(
        self,
        user: User,
        project: Project,
        record_id: str,
        event_name: str,
        rows: Sequence[FieldRow],
        expression: str,
    ) -> str:
        """`expression` computed for a record at an event, as a save would store it.

        Raises NotFound for a record `user` may not see, LogicError for bad logic.
        """
        ...


class _NoData:
    def form_counts(self, project: Project) -> dict[str, int]:
        return {}

    def code_counts(self, project: Project, row: FieldRow) -> dict[str, int]:
        return {}

    def value_count(self, project: Project, row: FieldRow) -> int:
        return 0

    def record_ids(self, user: User, project: Project, limit: int) -> list[str]:
        return []

    def calc_result(
        self,
        user: User,
        project: Project,
        record_id: str,
        event_name: str,
        rows: Sequence[FieldRow],
        expression: str,
    ) -> str:
        return ""


_registered: list[DesignerData] = []


def designer_data_register(provider: DesignerData) -> None:
    _registered[:] = [provider]


def designer_data() -> DesignerData:
    return _registered[0] if _registered else _NoData()
