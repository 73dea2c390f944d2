"""The query dashboard's filters, read from the page's query string.

Every value is checked against what the member may choose (their forms, events, groups, the
users on queries they see); a value that is not one of them is ignored and named in an error,
so a forged or stale link shows a clear message and never another site's queries.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from opencrf.core.numbers import whole_number
from opencrf.quality.query_models import QueryStatus

UNRESOLVED = "unresolved"  # open or responded: waiting on someone
STATUS_FILTERS = (UNRESOLVED, *QueryStatus.values)
USER_ROLES = ("", "opened", "assigned")  # "" means either
AGE_CHOICES = (7, 30, 90)
MAX_AGE_DAYS = 36_500
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
SORTS = ("oldest", "newest")


@dataclass(frozen=True)
class FilterChoices:
    """What the member may filter on: id or name → label, in the order shown."""

    forms: Mapping[str, str]
    events: Mapping[int, str]
    groups: Mapping[int, str]
    users: Mapping[int, str]


@dataclass(frozen=True)
class QueryFilters:
    status: str = ""
    user_id: int | None = None
    user_role: str = ""
    group_id: int | None = None
    form_name: str = ""
    event_id: int | None = None
    record_id: str = ""
    older_than_days: int | None = None
    sort: str = "oldest"
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    def query_string(self, **changes: object) -> dict[str, str]:
        """The filters as query parameters (blank ones left out), with `changes` applied."""
        values = {
            "status": self.status,
            "user": self.user_id,
            "role": self.user_role,
            "group": self.group_id,
            "form": self.form_name,
            "event": self.event_id,
            "record": self.record_id,
            "age": self.older_than_days,
            "sort": "" if self.sort == "oldest" else self.sort,
            "per_page": "" if self.per_page == DEFAULT_PAGE_SIZE else self.per_page,
            **changes,
        }
        return {key: str(value) for key, value in values.items() if value not in ("", None)}


@dataclass
class _Reader:
    params: Mapping[str, str]
    errors: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        return str(self.params.get(name, "")).strip()

    def one_of(self, name: str, allowed: tuple[str, ...], what: str) -> str:
        value = self.text(name)
        if value and value not in allowed:
            self.refuse(what, value)
            return ""
        return value

    def choice(self, name: str, allowed: Container[int], what: str) -> int | None:
        raw = self.text(name)
        number = whole_number(raw)
        if raw and (number is None or number not in allowed):
            self.refuse(what, raw)
            return None
        return number

    def refuse(self, what: str, value: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        self.errors.append(
            _("The %(filter)s filter “%(value)s” is not one you can use here; it was ignored.")
            % {"filter": what, "value": shown}
        )


def parse_filters(
    params: Mapping[str, str], choices: FilterChoices
) -> tuple[QueryFilters, list[str]]:
    """The filters asked for, and an error for each one refused (and ignored)."""
    read = _Reader(params)
    form_name = read.text("form")
    if form_name and form_name not in choices.forms:
        read.refuse(_("form"), form_name)
        form_name = ""
    filters = QueryFilters(
        status=read.one_of("status", STATUS_FILTERS, _("status")),
        user_id=read.choice("user", choices.users, _("user")),
        user_role=read.one_of("role", USER_ROLES, _("user role")),
        group_id=read.choice("group", choices.groups, _("data access group")),
        form_name=form_name,
        event_id=read.choice("event", choices.events, _("event")),
        record_id=read.text("record")[:100],
        older_than_days=read.choice("age", range(MAX_AGE_DAYS + 1), _("age")),
        sort=read.one_of("sort", SORTS, _("sort")) or "oldest",
        page=whole_number(read.text("page"), 9) or 1,
        per_page=read.choice("per_page", PAGE_SIZES, _("page size")) or DEFAULT_PAGE_SIZE,
    )
    return filters, read.errors
