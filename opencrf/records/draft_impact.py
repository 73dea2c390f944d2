"""Counts of stored data for a draft's impact review, computed in SQL over the forms' JSON.

Each question is answered by SQL over one scan of the instrument's form rows: the scan
explodes each row's JSON once into (form row, record, key, value) rows for the keys asked
about (`json_each` on SQLite, `jsonb_each_text` on PostgreSQL; keys, codes and values are
query parameters), and aggregates count over them, so the cost grows with the rows of the
touched instruments, not with the number of changes. Values that a new type or validation
would refuse are judged in Python, but only over the distinct values stored, which SQL
groups first. Calculations are evaluated in Python (the logic engine), record by record,
over the keys they read, which SQL extracts.

Locked form instances (the form locked, or its record) that a change touches are found by the
same scans restricted to locked rows, run only when the project has a lock at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.draft_impact import LOCKED_LISTED, SAMPLE_SIZE, Held, LockedForm, Probe
from opencrf.dictionary.form_logic import clock
from opencrf.logic import LogicError, evaluate, format_result, parse, references
from opencrf.projects.models import Event, Project
from opencrf.records.models import FormData, Record
from opencrf.records.values import check_value, form_columns

FORMS = FormData._meta.db_table
RECORDS = Record._meta.db_table
EVENTS = Event._meta.db_table
# Values sent as query parameters at most (SQLite allows 32,766 in one query).
MAX_PARAMETERS = 20_000


def _value_sql() -> str:
    """SQL for one key of `values` as text; takes the key (PostgreSQL) or path (SQLite)."""
    if connection.vendor == "postgresql":
        return '"values"->>%s'
    return 'json_extract("values", %s)'


def _key_param(key: str) -> str:
    return key if connection.vendor == "postgresql" else '$."' + key.replace('"', "") + '"'


# The form row is locked, or its record is (SQL over `f`, a row of the forms' table).
_LOCKED = (
    f"(f.locked_at IS NOT NULL OR EXISTS (SELECT 1 FROM {RECORDS} lr "  # noqa: S608 (fixed SQL)
    "WHERE lr.id = f.record_id AND lr.locked_at IS NOT NULL))"
)


def _exploded(keys: Sequence[str], *, locked_only: bool = False) -> tuple[str, list[Any]]:
    """A CTE `e(fid, rid, k, v)`: one row per key of `keys` in each of the instrument's forms
    (v NULL when the form stores no value for it), each form's JSON read once.

    SQLite: one `json_extract` with every path parses the JSON once and gives an array, which
    `json_each` unpivots (the position names the key). PostgreSQL: `->>` per key on jsonb, in a
    LATERAL VALUES. Takes the project id and the form name after the returned parameters.
    `locked_only` keeps the locked form rows alone.
    """
    if connection.vendor == "postgresql":
        pairs = ", ".join(['(%s, f."values"->>%s)'] * len(keys))
        source = f"LATERAL (VALUES {pairs}) AS j(key, value)"
        params: list[Any] = [part for key in keys for part in (key, key)]
        names = "j.key"
        bound = ""
    else:
        paths = [_key_param(key) for key in keys]
        paths += paths[:1] if len(paths) == 1 else []  # one path alone gives no array
        source = f'json_each(json_extract(f."values", {", ".join(["%s"] * len(paths))})) AS j'
        cases = " ".join(f"WHEN {position} THEN %s" for position in range(len(keys)))
        names = f"CASE j.key {cases} END"
        params = [*keys, *paths]
        bound = f"j.key < {len(keys)} AND "
    sql = (
        f"WITH e AS MATERIALIZED (SELECT f.id AS fid, f.record_id AS rid, {names} AS k, "  # noqa: S608
        f"j.value AS v FROM {FORMS} f, {source} "
        f"WHERE {bound}f.project_id = %s AND f.form_name = %s"
        f"{' AND ' + _LOCKED if locked_only else ''}) "
    )
    return sql, params


def _has_locks(project: Project) -> bool:
    return (
        Record.objects.filter(project=project, locked_at__isnull=False).exists()
        or FormData.objects.filter(project=project, locked_at__isnull=False).exists()
    )


def _locked_forms(fids: set[int]) -> tuple[tuple[LockedForm, ...], int]:
    """The first LOCKED_LISTED form rows of `fids` (by record, event, instance); how many."""
    rows = (
        FormData.objects.filter(pk__in=sorted(fids)[:MAX_PARAMETERS])
        .order_by("record__sort_key", "event__arm__number", "event__position", "instance")
        .values_list(
            "record__record_id",
            "event__unique_name",
            "form_name",
            "instance",
            "signed_at",
            "signature_invalidated_at",
        )[:LOCKED_LISTED]
    )
    named = tuple(
        LockedForm(record, event, form, instance, signed is not None and voided is None)
        for record, event, form, instance, signed, voided in rows
    )
    return named, len(fids)


def _with_locks(held: Held, fids: set[int]) -> Held:
    if not fids:
        return held
    named, count = _locked_forms(fids)
    return Held(held.records, held.values, held.sample, named, count)


def _probes(probes: Sequence[Probe], indexes: Sequence[int]) -> tuple[str, list[Any]]:
    """A CTE `p(pid, pkey, pcode)`: one row per key of each probe (code "" for any value)."""
    rows, params = [], []
    for index in indexes:
        for key in probes[index].keys:
            rows.append("(%s, %s, %s)")
            params += [index, key, probes[index].code or ""]
    return f", p(pid, pkey, pcode) AS (VALUES {', '.join(rows)}) ", params


# A row of `e` the probe of `p` looks for: its key, non-blank, and the probe's code if any.
_FOUND = "e.k = p.pkey AND e.v <> '' AND (p.pcode = '' OR e.v = p.pcode)"
# Records and form instances per key, and per (key, code) for the keys in `marks`.
_GROUPED = (
    "SELECT k, NULL, COUNT(DISTINCT rid), COUNT(*) FROM e WHERE v <> '' GROUP BY k UNION ALL "
    "SELECT k, v, COUNT(DISTINCT rid), COUNT(*) FROM e "
    "WHERE v <> '' AND k IN ({marks}) GROUP BY k, v"
)
_COUNTS = (
    "SELECT p.pid, COUNT(DISTINCT e.rid), COUNT(DISTINCT e.fid) "  # noqa: S608 (fixed SQL)
    f"FROM e JOIN p ON {_FOUND} GROUP BY p.pid"
)


class RecordsDraftData:
    def holding(self, project: Project, probes: Sequence[Probe]) -> list[Held]:
        by_form: dict[str, list[int]] = defaultdict(list)
        for index, probe in enumerate(probes):
            by_form[probe.form_name].append(index)
        found: dict[int, Held] = {}
        for form_name, indexes in by_form.items():
            found.update(self._holding_in_form(project, form_name, indexes, probes))
        if _has_locks(project):
            for form_name, indexes in by_form.items():
                held = [index for index in indexes if found[index].values]
                locked = self._locked_holding(project, form_name, held, probes) if held else {}
                for index, fids in locked.items():
                    found[index] = _with_locks(found[index], fids)
        return [found[index] for index in range(len(probes))]

    def _locked_holding(
        self, project: Project, form_name: str, indexes: list[int], probes: Sequence[Probe]
    ) -> dict[int, set[int]]:
        """The locked form rows each probe finds, in one scan of the instrument's locked rows."""
        keys = list(dict.fromkeys(key for index in indexes for key in probes[index].keys))
        scan, params = _exploded(keys, locked_only=True)
        table, table_params = _probes(probes, indexes)
        sql = scan + table + f"SELECT DISTINCT p.pid, e.fid FROM e JOIN p ON {_FOUND}"  # noqa: S608
        found: dict[int, set[int]] = defaultdict(set)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, project.pk, form_name, *table_params])
            for pid, fid in cursor.fetchall():
                found[int(pid)].add(int(fid))
        return found

    def _holding_in_form(
        self, project: Project, form_name: str, indexes: list[int], probes: Sequence[Probe]
    ) -> dict[int, Held]:
        """Records and form instances each probe finds, in one scan of the instrument.

        Single-key probes (most) are read off two groupings of the exploded rows, by key and
        by (key, code); probes over several keys (a removed checkbox) are joined to them.
        """
        single = [i for i in indexes if len(probes[i].keys) == 1]
        multi = [i for i in indexes if len(probes[i].keys) > 1]
        keys = list(dict.fromkeys(key for index in indexes for key in probes[index].keys))
        scan, params = _exploded(keys)
        counts: dict[int, tuple[int, int]] = {}
        if single:
            counts.update(self._grouped(project, form_name, scan, params, single, probes))
        if multi:
            table, table_params = _probes(probes, multi)
            with connection.cursor() as cursor:
                cursor.execute(
                    scan + table + _COUNTS, [*params, project.pk, form_name, *table_params]
                )
                counts.update({int(p): (int(r), int(v)) for p, r, v in cursor.fetchall()})
        sampled = [i for i in indexes if probes[i].want_sample and counts.get(i, (0, 0))[1]]
        samples = self._samples(project, form_name, sampled, probes) if sampled else {}
        return {
            index: Held(*counts.get(index, (0, 0)), samples.get(index, ())) for index in indexes
        }

    def _grouped(
        self,
        project: Project,
        form_name: str,
        scan: str,
        params: list[Any],
        indexes: list[int],
        probes: Sequence[Probe],
    ) -> dict[int, tuple[int, int]]:
        coded = sorted({probes[i].keys[0] for i in indexes if probes[i].code is not None})
        marks = ", ".join(["%s"] * len(coded)) or "NULL"
        sql = scan + _GROUPED.format(marks=marks)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, project.pk, form_name, *coded])
            groups = {(k, v): (int(r), int(n)) for k, v, r, n in cursor.fetchall()}
        return {i: groups.get((probes[i].keys[0], probes[i].code), (0, 0)) for i in indexes}

    def _samples(
        self, project: Project, form_name: str, indexes: list[int], probes: Sequence[Probe]
    ) -> dict[int, tuple[str, ...]]:
        """The first records (in the order their forms were created) each probe finds."""
        keys = list(dict.fromkeys(key for index in indexes for key in probes[index].keys))
        scan, params = _exploded(keys)
        table, table_params = _probes(probes, indexes)
        sql = scan + table + f"SELECT p.pid, e.rid FROM e JOIN p ON {_FOUND} ORDER BY e.fid"  # noqa: S608
        found: dict[int, list[int]] = {index: [] for index in indexes}
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, project.pk, form_name, *table_params])
            while chunk := cursor.fetchmany(2000):
                for pid, rid in chunk:
                    rids = found[int(pid)]
                    if len(rids) < SAMPLE_SIZE and rid not in rids:
                        rids.append(rid)
                if all(len(rids) >= SAMPLE_SIZE for rids in found.values()):
                    break
        every = {rid for rids in found.values() for rid in rids}
        names = dict(Record.objects.filter(pk__in=every).values_list("pk", "record_id"))
        return {index: tuple(names[rid] for rid in rids) for index, rids in found.items()}

    def failing(self, project: Project, pairs: Sequence[tuple[FieldRow, FieldRow]]) -> list[Held]:
        by_form: dict[str, list[int]] = defaultdict(list)
        for index, (old, _new) in enumerate(pairs):
            by_form[old.form_name].append(index)
        found: dict[int, Held] = {}
        for form_name, indexes in by_form.items():
            found.update(self._failing_in_form(project, form_name, indexes, pairs))
        return [found[index] for index in range(len(pairs))]

    def _failing_in_form(
        self,
        project: Project,
        form_name: str,
        indexes: list[int],
        pairs: Sequence[tuple[FieldRow, FieldRow]],
    ) -> dict[int, Held]:
        """Distinct stored values of every changed field, grouped in SQL in one scan, each
        checked once in Python under the new definition; then the records holding a refused
        value, counted in SQL."""
        names = [pairs[index][0].field_name for index in indexes]
        scan, params = _exploded(names)
        stored: dict[str, list[tuple[str, int]]] = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(
                scan + "SELECT k, v, COUNT(*) FROM e WHERE v <> '' GROUP BY k, v",  # noqa: S608
                [*params, project.pk, form_name],
            )
            for key, value, count in cursor.fetchall():
                stored[key].append((value, int(count)))
        bad = {
            name: {v for v, _n in stored[name] if check_value(new.field_name, v, new)}
            for name, new in ((pairs[i][0].field_name, pairs[i][1]) for i in indexes)
        }
        records = self._records_with(project, form_name, bad)
        locked = self._locked_with(project, form_name, bad)
        held = {}
        for index in indexes:
            name = pairs[index][0].field_name
            count = sum(n for v, n in stored[name] if v in bad[name])
            if count:
                held[index] = _with_locks(
                    Held(records.get(name, 0), count), locked.get(name, set())
                )
            else:
                held[index] = Held()
        return held

    def _locked_with(
        self, project: Project, form_name: str, bad: dict[str, set[str]]
    ) -> dict[str, set[int]]:
        """Locked form rows storing a refused value, per field."""
        wanted = [name for name, values in bad.items() if values]
        if not wanted or not _has_locks(project):
            return {}
        scan, params = _exploded(wanted, locked_only=True)
        found: dict[str, set[int]] = defaultdict(set)
        with connection.cursor() as cursor:
            query = scan + "SELECT fid, k, v FROM e WHERE v <> ''"  # noqa: S608 (fixed SQL)
            cursor.execute(query, [*params, project.pk, form_name])
            while chunk := cursor.fetchmany(5000):
                for fid, key, value in chunk:
                    if value in bad[key]:
                        found[key].add(int(fid))
        return found

    def _records_with(
        self, project: Project, form_name: str, bad: dict[str, set[str]]
    ) -> dict[str, int]:
        """Records storing a refused value, per field."""
        wanted = [name for name, values in bad.items() if values]
        if not wanted:
            return {}
        scan, params = _exploded(wanted)
        if sum(len(bad[name]) for name in wanted) > MAX_PARAMETERS:
            found: dict[str, set[int]] = {name: set() for name in wanted}
            with connection.cursor() as cursor:
                query = scan + "SELECT rid, k, v FROM e"  # noqa: S608 (no values inlined)
                cursor.execute(query, [*params, project.pk, form_name])
                while chunk := cursor.fetchmany(5000):
                    for rid, key, value in chunk:
                        if value in bad[key]:
                            found[key].add(rid)
            return {name: len(rids) for name, rids in found.items()}
        columns, values = [], []
        for name in wanted:
            marks = ", ".join(["%s"] * len(bad[name]))
            columns.append(f"COUNT(DISTINCT CASE WHEN k = %s AND v IN ({marks}) THEN rid END)")
            values += [name, *sorted(bad[name])]
        with connection.cursor() as cursor:
            cursor.execute(
                scan + f"SELECT {', '.join(columns)} FROM e",  # noqa: S608 (no values inlined)
                [*params, project.pk, form_name, *values],
            )
            counts = cursor.fetchone()
        return {name: int(count or 0) for name, count in zip(wanted, counts, strict=True)}

    def calc_changes(self, project: Project, rows: Sequence[FieldRow], calc: FieldRow) -> Held:
        try:
            ast = parse(calc.select_choices_or_calculations)
        except LogicError:
            return Held()
        needed = {name for _event, name in references(ast)}
        forms = {row.form_name for row in rows if row.field_name in needed} | {calc.form_name}
        context = {
            **clock(),
            "events": [e.unique_name for e in project.events.order_by("position")],
            "project_id": project.pk,
        }
        records, values, sample = 0, 0, list[str]()
        locked: set[int] = set()
        keys = [
            key
            for key, row in form_columns(rows).items()
            if row.field_name in needed or row.field_name == calc.field_name
        ]
        for record_name, data, locks in _record_data(project, forms, keys, calc.form_name):
            changed = _changed_results(calc, data, {**context, "record": record_name})
            if changed:
                records, values = records + 1, values + len(changed)
                locked.update(locks[place] for place in changed if place in locks)
                if len(sample) < SAMPLE_SIZE:
                    sample.append(record_name)
        return _with_locks(Held(records, values, tuple(sample)), locked)


Place = tuple[str, str]  # (event unique name, instance) of a form row


def _record_data(
    project: Project, forms: set[str], keys: list[str], calc_form: str
) -> Iterator[tuple[str, dict[str, dict[str, dict[str, str]]], dict[Place, int]]]:
    """Each record's stored values of `keys` in `forms`, as the evaluator reads them, record
    by record, with its locked rows of `calc_form` by place; SQL reads only those keys out of
    each form's JSON."""
    extracted = ", ".join(f"{_value_sql()}" for _key in keys) or "NULL"
    placeholders = ", ".join(["%s"] * len(forms))
    sql = (
        f"SELECT f.record_id, r.record_id, e.unique_name, f.instance, f.id, f.form_name, "  # noqa: S608
        f"CASE WHEN f.locked_at IS NOT NULL OR r.locked_at IS NOT NULL THEN 1 ELSE 0 END, "
        f"{extracted} "
        f"FROM {FORMS} f JOIN {RECORDS} r ON r.id = f.record_id "
        f"JOIN {EVENTS} e ON e.id = f.event_id "
        f"WHERE f.project_id = %s AND f.form_name IN ({placeholders}) ORDER BY f.record_id"
    )
    params: list[Any] = [*(_key_param(key) for key in keys), project.pk, *sorted(forms)]
    current: int | None = None
    name, data, locks = "", dict[str, dict[str, dict[str, str]]](), dict[Place, int]()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(5000):
            for key, record_name, event, instance, fid, form, locked, *values in chunk:
                if key != current:
                    if current is not None:
                        yield name, data, locks
                    current, name, data, locks = key, record_name, {}, {}
                stored = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
                data.setdefault(event, {}).setdefault(str(instance), {}).update(stored)
                if locked and form == calc_form:
                    locks[event, str(instance)] = int(fid)
    if current is not None:
        yield name, data, locks


def _changed_results(calc: FieldRow, data: dict[str, Any], context: dict[str, Any]) -> list[Place]:
    """The places (event, instance) whose stored result of `calc` the expression changes."""
    changed: list[Place] = []
    for event, instances in data.items():
        for instance, values in instances.items():
            if calc.field_name not in values:
                continue
            try:
                result = format_result(
                    evaluate(
                        calc.select_choices_or_calculations,
                        values,
                        mode="calc",
                        event=event,
                        instance=int(instance),
                        data=data,
                        **context,
                    )
                )
            except LogicError:
                result = ""
            if result != values[calc.field_name]:
                changed.append((event, instance))
    return changed
