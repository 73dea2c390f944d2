"""A report's matching rows in order, found by the database alone when it can be exact.

`paging.row_keys` finds a filtered or sorted report's rows by reading the sort columns of
every candidate row and judging the filter and the sort in Python. For the common case —
a classic project without repeating instruments or events (one row a record), a filter
made of fields compared with literals joined by `and` / `or` (checkbox options, form
statuses and the record id included), and a sort on plain value columns — one query does
both: the database keeps the rows the filter keeps, orders them as `paging.sort_key` orders
them, and returns their record ids in page order (their number is the report's total).

Exact, not a superset: every value the query reads is put in a class once a row — blank,
number, text or unsure — the way the logic (`logic.numeric.parse_numeric`) and the sort key
(Python's `float`) would read it, and compared the way they compare it:

- blank (missing or ""): a comparison with a blank is decided here, in Python, once;
- number: on SQLite a short decimal (`-?digits.digits`, at most 15 characters), cast from
  its digits without leading or trailing zeros — SQLite's text-to-real conversion may be a
  unit in the last place off, but such decimals lie several units apart and one number
  always casts to one real, so order and equality are Python's; on PostgreSQL the logic's
  own numeric pattern (a decimal for the sort), cast to `float8`, rounded as Python rounds;
- text: a value holding a character neither parser reads as part of a number, compared in
  code point order (`COLLATE "C"` on PostgreSQL; SQLite compares UTF-8 bytes, the same);
- unsure: anything else (" 5", "1e3", "inf", "1,5" where both readings apply, a value
  stored as a JSON number or array …). The query keeps such a row and flags it, and one
  flag sends the whole report back to the Python path (`None`): an unsure value never
  changes a result, it only costs the fast path.

A filter or sort the query cannot follow exactly (a function, arithmetic, another event's
field, a literal SQLite cannot cast exactly, a checkbox, status, file or group column as a
sort key, labels of a choice column, shifted dates, decimal commas …) gives `None` before any
query. The records read are `records_visible_to` the viewer (and the report's groups), as
for every export: the query selects among that queryset's ids, so another group's record is
neither shown nor counted. On SQLite the keys of a form are read with one `json_extract` of
several paths (one parse of its JSON, not one a key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from opencrf.accounts.models import User
from opencrf.dictionary.design import ProjectDesign
from opencrf.exports.deidentify import Keys, is_date, project_secret
from opencrf.exports.prefilter import MIRRORED, NUMERIC_TEXT, constant
from opencrf.exports.table import ExportRequest, ExportTable, Kind
from opencrf.logic import Node
from opencrf.logic.checkboxes import checkbox_key
from opencrf.logic.numeric import TRIMMED, format_number
from opencrf.logic.operators import compare
from opencrf.logic.values import BLANK, Value, is_blank, to_number, to_text
from opencrf.projects.models import Event, Project
from opencrf.records.models import FormData, Record, RecordArm
from opencrf.records.selectors import records_visible_to

Order = Sequence[tuple[str, bool]]
Sql = tuple[str, list[Any]]
COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})
ORDERINGS = frozenset({"<", "<=", ">", ">="})
NUMERIC = frozenset({Kind.INTEGER, Kind.NUMBER})
SHORT = 15  # characters of a decimal SQLite casts to a distinct, correctly ordered real
LONGEST = 300  # characters of a decimal PostgreSQL casts to a finite float8
MAX_DEPTH = 50
LABELLED = frozenset({"radio", "dropdown", "yesno", "truefalse"})
PLAIN_TYPES = frozenset({"text", "notes", "calc", "slider", "sql", *LABELLED})
# A decimal `-?(digits[.digits]|.digits)`: a number to the logic and to Python's `float`.
DECIMAL = "^-?([0-9]+[.]?[0-9]*|[.][0-9]+)$"
# Characters that make a value text to Python's `float` whatever else it holds: ASCII other
# than digits, signs, point, underscore, whitespace and the letters of "inf", "infinity",
# "nan" and an exponent; kana, CJK ideographs, full-width Latin letters, Hangul. (NUL is
# left out of every class: a value holding it is unsure.)
_FLOAT_CHARS = set("0123456789+-._eEiInNfFtTyYaA") | {chr(c) for c in range(0x09, 0x0E)}
_FLOAT_CHARS |= {chr(c) for c in range(0x1C, 0x21)} | {"\x00"}
TEXT_CHARS = "".join(chr(c) for c in range(0x80) if chr(c) not in _FLOAT_CHARS)
TEXT_RANGES = (("\u3040", "\u9fff"), ("\uff21", "\uff5a"), ("\uac00", "\ud7a3"))
# Characters `parse_numeric` may read as part of a number: any other makes a value text.
LOGIC_CHARS = "0123456789.,+-" + TRIMMED


class Inexact(Exception):
    """The request holds something the query cannot follow exactly."""


@dataclass(frozen=True)
class OrderedRecords:
    """The matching rows in page order, one a record (classic, no repeats): the stored ids
    and the ids as the report shows them (hashed for a viewer who sees hashed ids)."""

    records: list[str]
    shown: list[str]


def sql_row_keys(
    user: User, project: Project, request: ExportRequest, table: ExportTable, order: Order
) -> OrderedRecords | None:
    """The report's rows in `order` from one query, or None when the query could not be
    exact (see the module's docstring): the caller then takes the Python path."""
    connection = connections[Record.objects.db]
    if connection.vendor not in ("sqlite", "postgresql"):
        return None
    try:
        event = _single_event(project, table.design, request)
        query = _Query(table.design, event, connection.vendor == "postgresql")
        where = query.truth(request.filter, 0) if request.filter is not None else ("TRUE", [])
        ordering = [query.sort(table, request, name, desc) for name, desc in order]
    except (Inexact, RecursionError):
        return None
    records = records_visible_to(user, project)
    if request.groups:
        records = records.filter(group_id__in=request.groups)
    found = query.run(records, where, ordering)
    if found is None:
        return None
    shown = found
    if table.deidentify.hash_record_id:
        keys = Keys(project_secret(project))
        shown = [keys.record_hash(record_id) for record_id in found]
    return OrderedRecords(found, shown)


def _single_event(project: Project, design: ProjectDesign, request: ExportRequest) -> Event:
    """The one event of a classic project without repeats (one row a record), whose rows
    the request shows; else Inexact."""
    if project.is_longitudinal or design.repeats or len(design.events) != 1:
        raise Inexact
    event = design.events[0]
    if request.records or request.decimal_comma:
        raise Inexact
    if request.events and event.unique_name not in request.events:
        raise Inexact
    return event


def _q(name: str) -> str:
    return connections[Record.objects.db].ops.quote_name(name)


def _glob_class(chars: str, *, negated: bool = False, ranges: str = "") -> str:
    """A GLOB character class of `chars` (and `ranges`): `]` first, `-` last, `^` not first,
    `%` doubled for the driver's parameter style, `'` doubled for the SQL literal."""
    body = sorted(set(chars) - {"]", "-", "^"})
    text = ("]" if "]" in chars else "") + "".join(body) + ranges
    text += "^" if "^" in chars else ""
    text += "-" if "-" in chars else ""
    return ("[^" if negated else "[") + text.replace("%", "%%").replace("'", "''") + "]"


def _regex_class(chars: str, ranges: tuple[tuple[str, str], ...] = ()) -> str:
    escaped = "".join(f"\\u{ord(c):04x}" for c in chars)
    escaped += "".join(f"\\u{ord(a):04x}-\\u{ord(b):04x}" for a, b in ranges)
    return f"[{escaped}]"


def _short_decimal(text: str) -> bool:
    unsigned = text.removeprefix("-")
    return (
        len(text) <= SHORT
        and bool(unsigned)
        and set(unsigned) <= set("0123456789.")
        and unsigned.count(".") <= 1
        and any(c.isdigit() for c in unsigned)
    )


@dataclass
class _Query:
    """The query's pieces: the values read (`k<n>`), each one's class (`c<n>`: 0 blank, 1
    number, 2 text, 3 unsure; computed once a row, for the readings the filter and the sort
    make of it), the filter and the sort over them."""

    design: ProjectDesign
    event: Event
    postgres: bool
    forms: list[str] = field(default_factory=list)  # joined forms, by position
    values: dict[str, Sql] = field(default_factory=dict)  # key → extracted column
    types: dict[int, Sql] = field(default_factory=dict)  # column → its stored JSON type
    needs: dict[int, set[str]] = field(default_factory=dict)  # column → "logic", "float"
    paths: dict[int, tuple[str, str]] = field(default_factory=dict)  # SQLite: JSON, path
    numbers: set[int] = field(default_factory=set)  # columns also read as numbers

    def __post_init__(self) -> None:
        self.rows = {row.field_name: row for row in self.design.rows}
        self.statuses = {f"{i.name}_complete": i.name for i in self.design.instruments}

    # --- values ------------------------------------------------------------------------

    def column(self, key: str, need: str = "") -> int:
        """The number of the column holding the stored text of `key` (NULL when blank),
        read as `need` says ("logic": by `parse_numeric`; "float": by Python's `float`)."""
        if key not in self.values:
            n = len(self.values)
            self.values[key] = self._extracted(key, n)
            self.needs[n] = set()
        n = list(self.values).index(key)
        if need:
            self.needs[n].add(need)
        return n

    def _extracted(self, key: str, n: int) -> Sql:
        if key == self.design.record_id_field:
            return "r.record_id", []
        if key in self.statuses:
            form = self._join(self.statuses[key])
            return f"CAST({form}.{_q('status')} AS TEXT)", []
        base = key if key in self.rows else key.split("___")[0]
        row = self.rows.get(base)
        if row is None or not key.isascii() or not key.replace("_", "").isalnum():
            return "NULL", []  # not a stored field: blank to the evaluator
        values = f"{self._join(row.form_name)}.{_q('values')}"
        if self.postgres:
            self.types[n] = (f"jsonb_typeof({values} -> %s)", [key])
            return f"({values} ->> %s)", [key]
        self.types[n] = ("", [])  # read from the value itself
        self.paths[n] = (values, f'$."{key}"')
        return "", []  # read with the form's other keys: see `_split`

    def _split(self) -> tuple[list[str], list[Any]]:
        """SQLite: the keys of each form read in one `json_extract` (one parse of the form's
        JSON, not one a key), as the JSON array `j<form>`."""
        picked, params = [], []
        for values in dict.fromkeys(values for values, _path in self.paths.values()):
            paths = [path for form, path in self.paths.values() if form == values]
            marks = ", ".join(["%s"] * len(paths))
            picked.append(f"json_extract({values}, {marks}) AS j{values.split('.')[0]}")
            params += paths
        return picked, params

    def _element(self, n: int) -> str:
        if n not in self.paths:
            return f"s.k{n}"
        values = self.paths[n][0]
        siblings = [m for m, (form, _path) in self.paths.items() if form == values]
        array = f"s.j{values.split('.')[0]}"
        if len(siblings) == 1:
            return f"{array} AS k{n}"  # one path: the value itself, not an array
        return f"json_extract({array}, '$[{siblings.index(n)}]') AS k{n}"

    def _join(self, form: str) -> str:
        if form not in self.forms:
            self.forms.append(form)
        return f"f{self.forms.index(form)}"

    def classified(self, n: int) -> str:
        """The class of value `n` (see the class docstring) for the readings it needs."""
        x, needs = f"m.k{n}", self.needs[n]
        cases = [f"WHEN {x} IS NULL OR {x} = '' THEN 0"]
        if n in self.types:
            if self.postgres:
                cases.append(f"WHEN m.t{n} IS NOT NULL AND m.t{n} <> 'string' THEN 3")
            else:  # not text, or text that may be JSON (an array, an object)
                cases.append(
                    f"WHEN typeof({x}) <> 'text' OR substr({x}, 1, 1) IN ('[', '{{') THEN 3"
                )
        if not needs:
            return f"(CASE {' '.join(cases)} ELSE 2 END)"
        if self.postgres:
            if needs == {"logic"}:
                cases.append(
                    f"WHEN {x} ~ '{NUMERIC_TEXT}' THEN "
                    f"(CASE WHEN length({x}) <= {LONGEST} THEN 1 ELSE 3 END)"
                )
                return f"(CASE {' '.join(cases)} ELSE 2 END)"
            cases.append(f"WHEN {x} ~ '{DECIMAL}' AND length({x}) <= {LONGEST} THEN 1")
            texts = TEXT_CHARS if needs == {"float"} else _without(TEXT_CHARS, LOGIC_CHARS)
            cases.append(f"WHEN {x} ~ '{_regex_class(texts, TEXT_RANGES)}' THEN 2")
            return f"(CASE {' '.join(cases)} ELSE 3 END)"
        if needs == {"logic"}:
            text = f"'*{_glob_class(LOGIC_CHARS, negated=True)}*'"
        else:
            texts = TEXT_CHARS if needs == {"float"} else _without(TEXT_CHARS, LOGIC_CHARS)
            ranges = "".join(f"{a}-{b}" for a, b in TEXT_RANGES)
            text = f"'*{_glob_class(texts, ranges=ranges)}*'"
        decimal = (  # first: most values of a number field are numbers
            f"{x} NOT GLOB '*[^0-9.-]*' AND length({x}) <= {SHORT} AND {x} NOT GLOB '?*-*' "
            f"AND {x} GLOB '*[0-9]*' AND {x} NOT GLOB '*.*.*'"
        )
        cases.append(f"WHEN {decimal} THEN 1")
        cases.append(f"WHEN {x} GLOB {text} THEN 2")
        return f"(CASE {' '.join(cases)} ELSE 3 END)"

    def number(self, x: str) -> str:
        """The number of a value of class 1. SQLite casts its digits without leading and
        trailing zeros, so that one number always casts to one real."""
        if self.postgres:
            return f"CAST(replace(btrim({x}, '{TRIMMED}'), ',', '.') AS double precision)"
        unsigned = f"ltrim({x}, '-')"  # class 1: at most one sign, in front
        digits = (
            f"ltrim(CASE WHEN instr({x}, '.') > 0 "
            f"THEN rtrim(rtrim({unsigned}, '0'), '.') ELSE {unsigned} END, '0')"
        )
        sign = f"(CASE WHEN substr({x}, 1, 1) = '-' THEN -1.0 ELSE 1.0 END)"
        return f"({sign} * CAST({digits} AS REAL))"

    def numbered(self, n: int) -> int:
        """Value `n` is wanted as a number too (`n<n>`: NULL unless of class 1)."""
        self.numbers.add(n)
        return n

    def cast(self, text: str) -> float:
        """The real SQLite's `number` makes of a literal's decimal text, read once."""
        with connections[Record.objects.db].cursor() as cursor:
            sql = self.number("%s")
            cursor.execute(f"SELECT {sql}", [text] * sql.count("%s"))
            row = cursor.fetchone()
        return float(row[0])

    def text(self, x: str) -> str:
        return f'({x} COLLATE "C")' if self.postgres else x

    # --- the filter ----------------------------------------------------------------------

    def truth(self, node: Node, depth: int) -> Sql:
        """SQL true exactly for the rows where `node` is truthy (never NULL)."""
        if depth > MAX_DEPTH:
            raise Inexact
        if node["type"] == "boolean":
            return ("TRUE" if node["value"] else "FALSE"), []
        if node["type"] != "binary":
            raise Inexact
        op = node["op"]
        if op in ("and", "or"):
            first, first_params = self.truth(node["left"], depth + 1)
            second, second_params = self.truth(node["right"], depth + 1)
            return f"({first} {op.upper()} {second})", [*first_params, *second_params]
        if op not in COMPARISONS:
            raise Inexact
        left, right = node["left"], node["right"]
        if left["type"] != "field":
            left, right, op = right, left, MIRRORED[op]
        literal = constant(right)
        if left["type"] != "field" or literal is None:
            raise Inexact
        if left.get("event") is not None or left.get("instance") is not None:
            raise Inexact
        name, code = left["name"], left["code"]
        if code is not None:  # the evaluator reads an option as "1" when ticked, else "0"
            n = self.column(checkbox_key(name, code))
            ticked, unticked = (_sql_bool(compare(op, read, literal)) for read in ("1", "0"))
            case = f"WHEN v.k{n} = '1' THEN {ticked} ELSE {unticked}"
            return f"(CASE WHEN v.c{n} = 3 THEN FALSE {case} END)", []
        return self.comparison(self.column(name, "logic"), op, literal)

    def comparison(self, n: int, op: str, literal: Value) -> Sql:
        """Value `n` `op` `literal` as `logic.operators.compare` decides it."""
        if op in ORDERINGS and is_blank(literal):
            return "FALSE", []
        x = f"v.k{n}"
        when_blank = _sql_bool(compare(op, BLANK, literal))
        number, text = to_number(literal), to_text(literal)
        as_text = f"{self.text(x)} {op} %s"
        number_params: list[Any]
        if number is None:
            as_number, number_params = as_text, [text]
        elif self.postgres:
            as_number, number_params = f"v.n{self.numbered(n)} {op} %s", [number]
        else:
            literal_text = format_number(number)
            if not _short_decimal(literal_text):
                raise Inexact
            as_number, number_params = f"v.n{self.numbered(n)} {op} %s", [self.cast(literal_text)]
        sql = (
            f"(CASE v.c{n} WHEN 0 THEN {when_blank} WHEN 1 THEN {as_number} "
            f"WHEN 2 THEN {as_text} ELSE FALSE END)"
        )
        return sql, [*number_params, text]

    # --- the sort ------------------------------------------------------------------------

    def sort(self, table: ExportTable, request: ExportRequest, name: str, desc: bool) -> str:
        """ORDER BY terms ordering as `paging.sort_key`: blanks last either way, numbers as
        numbers before text in a number column, text in code point order."""
        variable = next(v for v in table.variables if v.name == name)
        direction = "DESC" if desc else "ASC"
        if name == self.design.record_id_field:
            if table.deidentify.hash_record_id:
                raise Inexact  # the shown id, a hash, is what sorts
            return f"{self.text(f'v.k{self.column(name)}')} {direction}"
        row = self.rows.get(name)
        if row is None or variable.field_name != name or row.field_type not in PLAIN_TYPES:
            raise Inexact  # a checkbox option, a status, a file, a group or an added column
        if request.labels and row.field_type in LABELLED:
            raise Inexact
        if table.deidentify.shift_dates and is_date(row):
            raise Inexact
        numeric = variable.kind in NUMERIC
        n = self.column(name, "float" if numeric else "")
        x, c = f"v.k{n}", f"v.c{n}"
        parts = [f"({c} = 0) ASC"]
        if numeric:  # numbers, equal when equal as numbers; then text
            parts += [
                f"({c} = 2) {direction}",
                f"v.n{self.numbered(n)} {direction}",
                f"{self.text(f'(CASE WHEN {c} = 2 THEN {x} ELSE {BLANK!r} END)')} {direction}",
            ]
        else:
            parts.append(f"{self.text(f'COALESCE({x}, {BLANK!r})')} {direction}")
        return ", ".join(parts)

    # --- the query -----------------------------------------------------------------------

    def run(self, records: QuerySet[Record], where: Sql, ordering: list[str]) -> list[str] | None:
        """The record ids of the matching rows in order; None when a value read is unsure."""
        try:
            visible, visible_params = records.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # `records.none()`
            return []
        picked, params = ["r.record_id AS rid", "r.sort_key AS sk", "r.id AS pk"], []
        for n, (sql, sql_params) in enumerate(self.values.values()):
            if n in self.paths:
                continue
            picked.append(f"{sql} AS k{n}")
            params += sql_params
            if self.postgres and n in self.types:
                sql, sql_params = self.types[n]
                picked.append(f"{sql} AS t{n}")
                params += sql_params
        split, split_params = self._split()
        picked += split
        params += split_params
        joins = []
        params.append(self.event.arm_id)
        for n, form in enumerate(self.forms):
            joins.append(
                f"LEFT JOIN {_q(FormData._meta.db_table)} f{n} "
                f"ON f{n}.{_q('record_id')} = r.{_q('id')} AND f{n}.{_q('event_id')} = %s "
                f"AND f{n}.{_q('form_name')} = %s AND f{n}.{_q('instance')} = 1"
            )
            params += [self.event.pk, form]
        fence = "" if self.postgres else " LIMIT -1"
        inner = (
            f"SELECT {', '.join(picked)} FROM {_q(Record._meta.db_table)} r "  # noqa: S608
            f"JOIN {_q(RecordArm._meta.db_table)} a ON a.{_q('record_id')} = r.{_q('id')} "
            f"AND a.{_q('arm_id')} = %s {' '.join(joins)} "
            f"WHERE r.{_q('id')} IN ({visible}){fence}"
        )
        if self.paths:  # each value out of its form's array
            names = ["s.rid", "s.sk", "s.pk"]
            for n in range(len(self.values)):
                names.append(self._element(n))
            inner = f"SELECT {', '.join(names)} FROM ({inner}) s{fence}"  # noqa: S608
        classes = [f"m.k{n}" for n in range(len(self.values))]
        classes += [f"{self.classified(n)} AS c{n}" for n in range(len(self.values))]
        middle = (
            f"SELECT m.rid, m.sk, m.pk, {', '.join(classes)} "  # noqa: S608
            f"FROM ({inner}) m{fence}"
        )
        numbers = [
            f"(CASE WHEN c.c{n} = 1 THEN {self.number(f'c.k{n}')} END) AS n{n}"
            for n in sorted(self.numbers)
        ]
        if numbers:  # each number cast once a row, for the filter and the sort alike
            middle = f"SELECT c.*, {', '.join(numbers)} FROM ({middle}) c{fence}"  # noqa: S608
        unsure = " OR ".join(f"v.c{n} = 3" for n in range(len(self.values))) or "FALSE"
        filter_sql, filter_params = where
        sql = (
            f"SELECT v.rid, ({unsure}) AS unsure FROM ({middle}) v "  # noqa: S608
            f"WHERE ({unsure}) OR {filter_sql} "
            f"ORDER BY {', '.join([*ordering, 'v.sk ASC', 'v.pk ASC'])}"
        )
        found: list[str] = []
        with connections[records.db].cursor() as cursor:
            cursor.execute(sql, [*params, *visible_params, *filter_params])
            while rows := cursor.fetchmany(5000):
                for record_id, unsure_row in rows:
                    if unsure_row:
                        return None
                    found.append(record_id)
        return found


def _sql_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _without(chars: str, taken: str) -> str:
    return "".join(c for c in chars if c not in taken)
