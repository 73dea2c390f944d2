"""What is wrong with an uploaded data dictionary, one `Problem` per fault.

Rows are numbered as a spreadsheet shows them: the header is row 1 and the first field is
row 2. A cell holding line breaks still counts as one row, and blank rows keep their number,
so the number points at the same row the user sees in Excel or LibreOffice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opencrf.dictionary.columns import API_COLUMNS, UI_HEADERS

DISPLAY_LENGTH = 80
HEADER_ROW = 1
FIRST_FIELD_ROW = 2
_UI_HEADER_OF = dict(zip(API_COLUMNS, UI_HEADERS, strict=True))


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault, located by row and column.

    `row` is None for faults of the whole file (encoding, size). `column` is the UI header of
    the column, or `""` when the fault is not in one column. `rule` is a stable code for
    programs and tests; `message` is a translated sentence for people.
    """

    row: int | None
    column: str
    value: str
    rule: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", shorten(self.value))


class DictionaryFileError(Exception):
    """The file could not be read as a data dictionary; `problems` says why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


def shorten(value: str, limit: int = DISPLAY_LENGTH) -> str:
    """`value` cut to `limit` characters, with an ellipsis when something was cut."""
    if len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def header_of(column: str) -> str:
    """The UI header of an API column name: `field_name` → `Variable / Field Name`."""
    return _UI_HEADER_OF[column]
