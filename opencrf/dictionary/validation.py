"""Text validation types (dictionary column 8) and the storage format each one checks.

Values are always checked in their stored form, whatever the display order: every date is
`YYYY-MM-DD`, every time 24-hour, numbers use `.` except the `*_comma_decimal` types. The
suffix of `date_mdy` and friends only changes how the form shows and reads the value.

Old dictionaries still carry names REDCap used before: `int`, `float`, `date`, `datetime`
and `datetime_seconds`; `validation_type` resolves them to the current types. The ODM name
differs from the dictionary name only for `integer` (`int`) and `number` (`float`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Literal

Kind = Literal[
    "date", "datetime", "datetime_seconds", "time", "integer", "number", "text", "file", "choice"
]
DisplayOrder = Literal["", "ymd", "mdy", "dmy"]
Comparable = float | str | date

_DATE = r"\d{4}-\d{2}-\d{2}"
_HOUR_MINUTE = r"(?:[01]\d|2[0-3]):[0-5]\d"
_SECONDS = r":[0-5]\d"


@dataclass(frozen=True, slots=True)
class ValidationType:
    """One validation type: what a stored value looks like, and how to order two of them.

    `storage_format` is a short hint for people (`YYYY-MM-DD`, `0.00`); `display_order` is
    the order a date is shown and typed in (`mdy` for `date_mdy`), `""` for other kinds.
    `field_types` are the field types that may carry it in column 8.
    """

    name: str
    kind: Kind
    odm_data_type: str
    storage_format: str
    pattern: re.Pattern[str] | None = None
    display_order: DisplayOrder = ""
    decimal_comma: bool = False
    field_types: frozenset[str] = frozenset({"text"})

    @property
    def odm_name(self) -> str:
        """The name in ODM's `redcap:TextValidationType`."""
        return _ODM_NAMES.get(self.name, self.name)

    @property
    def is_ordered(self) -> bool:
        """Whether min and max apply: dates, times and numbers."""
        return self.kind in _ORDERED_KINDS

    @property
    def bound_type(self) -> ValidationType:
        """The type min and max are written in.

        Any number bounds the number types: REDCap exports `1` and `100` as the range of
        number_1dp fields. Every other type bounds itself.
        """
        if self.kind != "number":
            return self
        return VALIDATION_TYPES["number_comma_decimal" if self.decimal_comma else "number"]

    def is_valid(self, value: str) -> bool:
        """Whether `value` is a well-formed stored value; `""` (blank) is not."""
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return False
        return _CALENDAR_CHECKS.get(self.kind, _always)(value)

    def comparable(self, value: str) -> Comparable:
        """`value` as something that orders like the type: a date, a number or a string.

        Raises ValueError when `value` is not valid for the type.
        """
        if not self.is_valid(value):
            raise ValueError(f"{value!r} is not a valid {self.name} value")
        if self.kind in ("integer", "number"):
            return float(value.replace(",", ".") if self.decimal_comma else value)
        converter = _CONVERTERS.get(self.kind)
        return converter(value) if converter else value

    def compare(self, left: str, right: str) -> int:
        """-1, 0 or 1 as `left` orders before, with or after `right`; both must be valid."""
        first, second = self.comparable(left), self.comparable(right)
        # Both values come from this one type, so they are both numbers, dates or strings.
        return (first > second) - (first < second)  # type: ignore[operator]


def validation_type(name: str) -> ValidationType | None:
    """The type called `name` in a dictionary, legacy names included; None if unknown."""
    return VALIDATION_TYPES.get(name) or VALIDATION_TYPES.get(LEGACY_NAMES.get(name, ""))


def _always(value: str) -> bool:
    return True


def _is_calendar_date(value: str) -> bool:
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


_ORDERED_KINDS = frozenset({"date", "datetime", "datetime_seconds", "time", "integer", "number"})
_ODM_NAMES = {"integer": "int", "number": "float"}
_CALENDAR_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": _is_calendar_date,
    "datetime": _is_calendar_date,
    "datetime_seconds": _is_calendar_date,
}
_CONVERTERS: dict[str, Callable[[str], Comparable]] = {
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "datetime_seconds": datetime.fromisoformat,
}


def _regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.ASCII)


_DATE_FORMATS: dict[Kind, tuple[str, str, str]] = {
    "date": ("date", "YYYY-MM-DD", _DATE),
    "datetime": ("partialDatetime", "YYYY-MM-DD HH:MM", f"{_DATE} {_HOUR_MINUTE}"),
    "datetime_seconds": ("datetime", "YYYY-MM-DD HH:MM:SS", f"{_DATE} {_HOUR_MINUTE}{_SECONDS}"),
}


def _date_types() -> list[ValidationType]:
    orders: tuple[DisplayOrder, ...] = ("ymd", "mdy", "dmy")
    return [
        ValidationType(
            name=f"{kind}_{order}",
            kind=kind,
            odm_data_type=odm_data_type,
            storage_format=storage_format,
            pattern=_regex(pattern),
            display_order=order,
        )
        for kind, (odm_data_type, storage_format, pattern) in _DATE_FORMATS.items()
        for order in orders
    ]


def _time_types() -> list[ValidationType]:
    return [
        ValidationType("time", "time", "partialTime", "HH:MM", _regex(_HOUR_MINUTE)),
        ValidationType(
            "time_hh_mm_ss", "time", "text", "HH:MM:SS", _regex(_HOUR_MINUTE + _SECONDS)
        ),
        ValidationType("time_mm_ss", "time", "text", "MM:SS", _regex(r"[0-5]\d" + _SECONDS)),
    ]


def _number_type(places: int, comma: bool) -> ValidationType:
    mark = "," if comma else "."
    if places:
        name = f"number_{places}dp"
        pattern = rf"[-+]?\d+{re.escape(mark)}\d{{{places}}}"
        example = f"0{mark}{'0' * places}"
    else:
        name = "number"
        pattern = rf"[-+]?\d*{re.escape(mark)}?\d+(?:[eE][-+]?\d+)?"
        example = f"1{mark}5"
    return ValidationType(
        name=f"{name}_comma_decimal" if comma else name,
        kind="number",
        odm_data_type="text" if comma else "float",
        storage_format=example,
        pattern=_regex(pattern),
        decimal_comma=comma,
    )


def _number_types() -> list[ValidationType]:
    return [
        ValidationType("integer", "integer", "integer", "123", _regex(r"[-+]?\d+")),
        *(_number_type(places, comma) for comma in (False, True) for places in range(5)),
    ]


_TEXT_PATTERNS = {
    "email": (
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
        r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}",
        "name@example.org",
    ),
    "phone": (
        r"\(?[2-9]\d{2}\)?[ .-]*[2-9]\d{2}[ .-]*\d{4}(?: *(?:#|x\.?|ext\.?|extension) *\d+)?",
        "(415) 555-1212",
    ),
    "phone_australia": (
        r"(?:\(0[2-9]\)|0[2-9]) ?\d{4} ?\d{4}|04\d{2} ?\d{3} ?\d{3}|1[38]00 ?\d{3} ?\d{3}",
        "02 1234 5678",
    ),
    "zipcode": (r"\d{5}(?:-\d{4})?", "12345-6789"),
    "postalcode_australia": (r"\d{4}", "2000"),
    "postalcode_canada": (r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d", "K1A 0B1"),
    "postalcode_french": (r"(?:0[1-9]|[1-8]\d|9[0-8]|2[ABab])\d{3}", "75001"),
    "postalcode_germany": (r"\d{5}", "10115"),
    "ssn": (r"\d{3}-\d{2}-\d{4}", "123-45-6789"),
    "alpha_only": (r"[A-Za-z]+", "abc"),
    "mrn_10d": (r"\d{10}", "0123456789"),
    "mrn_generic": (r"[A-Za-z0-9_-]+", "A123-45"),
    "vmrn": (r"[1-9]\d{3,8}", "123456789"),
}


def _text_types() -> list[ValidationType]:
    return [
        ValidationType(name, "text", "text", example, _regex(pattern))
        for name, (pattern, example) in _TEXT_PATTERNS.items()
    ]


def _other_types() -> list[ValidationType]:
    return [
        ValidationType("signature", "file", "text", "", field_types=frozenset({"file"})),
        ValidationType("autocomplete", "choice", "text", "", field_types=frozenset({"dropdown"})),
    ]


VALIDATION_TYPES: Mapping[str, ValidationType] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            *_date_types(),
            *_time_types(),
            *_number_types(),
            *_text_types(),
            *_other_types(),
        )
    }
)
"""Every validation type by its current name."""

LEGACY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "int": "integer",
        "float": "number",
        "date": "date_ymd",
        "datetime": "datetime_ymd",
        "datetime_seconds": "datetime_seconds_ymd",
    }
)
"""Names older dictionaries use, and the current type each one means."""
