"""REDCap's request conventions (spec §1.2): array shapes, booleans, empty means absent."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from opencrf.api.errors import ApiError

_INDEXED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d*)\]$")
TRUE = frozenset({"true", "1", "yes", "y", "on"})
FALSE = frozenset({"false", "0", "no", "n", "off"})


class Params:
    """The parameters of one API call, read the way every REDCap client sends them."""

    def __init__(self, data: QueryDict | MultiValueDict[str, str]) -> None:
        self._plain: dict[str, list[str]] = {}
        self._arrays: dict[str, list[tuple[int, int, str]]] = {}
        for order, (key, values) in enumerate(data.lists()):
            match = _INDEXED.match(key)
            if match is None:
                self._plain[key] = values
                continue
            index = int(match["index"]) if match["index"] else -1
            slot = self._arrays.setdefault(match["name"], [])
            slot.extend(
                (index if index >= 0 else order, n, value) for n, value in enumerate(values)
            )

    def text(self, name: str) -> str:
        """A single value, trimmed; "" when absent or empty."""
        values = self._plain.get(name)
        return values[-1].strip() if values else ""

    def raw(self, name: str) -> str:
        """A single value exactly as sent (record data keeps its spacing)."""
        values = self._plain.get(name)
        return values[-1] if values else ""

    def has(self, name: str) -> bool:
        return self.text(name) != "" or bool(self._arrays.get(name))

    def items(self, name: str) -> list[str]:
        """An array: `name[0]=a&name[1]=b`, `name[]=a` or `name=a,b`; trimmed, blanks dropped."""
        values: Iterable[str]
        if name in self._arrays:
            values = [value for _i, _n, value in sorted(self._arrays[name])]
        else:
            values = self._plain.get(name, [])
        found: list[str] = []
        for value in values:
            found.extend(part.strip() for part in value.split(",") if part.strip())
        return found

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name).lower()
        if value == "":
            return default
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise ApiError(f'The value of the parameter "{name}" is not valid')

    def choice(self, name: str, allowed: Iterable[str], default: str) -> str:
        value = self.text(name)
        if value == "":
            return default
        if value not in allowed:
            raise ApiError(f'The value of the parameter "{name}" is not valid')
        return value

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.text(name)
        if value == "":
            return default
        if not value.isascii() or not value.lstrip("-").isdigit() or len(value) > 12:
            raise ApiError(f'The value of the parameter "{name}" is not valid')
        return int(value)
