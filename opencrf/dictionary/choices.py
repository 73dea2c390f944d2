"""Choice strings of dropdown, radio and checkbox fields, and slider labels.

REDCap writes choices as `code, label | code, label`: options split on `|`, code and label
on the first comma, both trimmed. An option without a comma is a legacy form meaning the
code is the label (`Mr. | Mrs. | Dr.`). Empty options (`a, A | | b, B`, a trailing `|`) are
skipped, as REDCap's own exports never hold them but hand-made files do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

CHOICE_SEPARATOR = "|"
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    label: str


def choice_options(text: str) -> list[str]:
    """The non-empty options of a choice string, trimmed, in order."""
    return [part.strip() for part in text.split(CHOICE_SEPARATOR) if part.strip()]


def parse_choice(option: str) -> Choice:
    """One option: `1, Yes` → Choice("1", "Yes"); `Maybe` → Choice("Maybe", "Maybe")."""
    code, comma, label = option.partition(",")
    if not comma:
        return Choice(code=option.strip(), label=option.strip())
    return Choice(code=code.strip(), label=label.strip())


def parse_choices(text: str) -> list[Choice]:
    """The choices of a choice string, in order; `""` gives no choices."""
    return [parse_choice(option) for option in choice_options(text)]


@lru_cache(maxsize=4096)
def choice_codes(text: str) -> frozenset[str]:
    """The codes of a choice string (kept per string: imports check every value)."""
    return frozenset(choice.code for choice in parse_choices(text))


def format_choices(choices: Iterable[Choice]) -> str:
    """The choice string REDCap exports: `0, No | 1, Yes`."""
    return " | ".join(f"{choice.code}, {choice.label}" for choice in choices)


def parse_slider_labels(text: str) -> tuple[str, str, str]:
    """(left, middle, right) labels of a slider; missing ones are `""`.

    One label is the left one, two are left and right, three are left, middle and right.
    Labels past the third are ignored here; the checker reports them.
    """
    labels = [part.strip() for part in text.split(CHOICE_SEPARATOR)] if text.strip() else []
    if len(labels) == 2:
        return labels[0], "", labels[1]
    left, middle, right = ([*labels, "", "", ""])[:3]
    return left, middle, right


def checkbox_code_suffix(code: str) -> str:
    """The part of a checkbox export column that stands for `code`.

    REDCap lower-cases the code and turns every other character than a letter or digit into
    `_`: code `-99` of `race` is exported as `race____99` (redcapAPI #90, REDCapTidieR #31).
    """
    return _NOT_ALPHANUMERIC.sub("_", code.lower())


def checkbox_column(field: str, code: str) -> str:
    """The export column of one checkbox option: (`race`, `A`) → `race___a`."""
    return f"{field}___{checkbox_code_suffix(code)}"
