"""De-identification: what the exporter asked for, raised to what their export rights demand.

REDCap's data export rights are per instrument: `full`, `remove_identifiers` (no field tagged
as an identifier), `deidentified` (also no free text — text without validation, notes — and
no dates) and `none`. `records.export.export_layout` already leaves out the columns a right
forbids; this module adds what the columns alone cannot express, and the options an exporter
may choose on top of their rights:

- `hash_record_id`: the record id replaced by HMAC-SHA256 under the project's secret. Forced
  whenever the record id field is tagged as an identifier and the exporter's right on its
  instrument is not `full`: the layout always keeps the record id (REDCap does too), so
  hashing is the only way an identifier-tagged id stays out of such an export.
- `remove_identifiers`, `remove_free_text`, `remove_dates`: leave those columns out.
- `shift_dates`: every date and datetime moved back by the record's own offset, 0–364 days,
  derived from the project's secret and the record id, so the same record always moves by
  the same number of days and intervals within a record are kept. Survey timestamps
  (`<form>_timestamp`) move with them: a date-shifted file never carries a real day.
- `shift_survey_timestamps`: REDCap's "Shift all survey completion timestamps", its own
  option: the survey timestamps moved by the same offset, the fields' dates left as they are.

Survey fields follow the rules of the fields: `remove_dates` removes the timestamps,
`remove_identifiers` the survey identifier (a participant's own label), so an exporter whose
right is de-identified or without identifiers never gets them.

The secret (`ExportSecret`) is created on first use and never leaves the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.db import IntegrityError, transaction

from opencrf.dictionary.columns import FieldRow
from opencrf.projects.models import ExportRight, Project

SHIFT_DAYS = 365  # offsets 0..364, as REDCap
HASH_LENGTH = 32  # hex digits of the HMAC kept: 128 bits


@dataclass(frozen=True)
class Deidentify:
    """The de-identification of one export (all False: the data as stored)."""

    remove_identifiers: bool = False
    hash_record_id: bool = False
    remove_free_text: bool = False
    remove_dates: bool = False
    shift_dates: bool = False
    shift_survey_timestamps: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in self.names())

    @property
    def shifts_survey_timestamps(self) -> bool:
        return self.shift_dates or self.shift_survey_timestamps


def enforced(requested: Deidentify, *, record_field: FieldRow | None, right: str) -> Deidentify:
    """`requested`, raised to what `right` (the exporter's right on the record id's form)
    demands; options only ever add protection, so nothing requested can lower it."""
    result = requested
    if right in (ExportRight.DEIDENTIFIED, ExportRight.REMOVE_IDENTIFIERS):
        result = replace(result, remove_identifiers=True)
        if record_field is not None and is_identifier(record_field):
            result = replace(result, hash_record_id=True)
    if right == ExportRight.DEIDENTIFIED:
        result = replace(result, remove_free_text=True, remove_dates=True)
    return result


def is_identifier(row: FieldRow) -> bool:
    return row.identifier.strip().lower() == "y"


def validation_of(row: FieldRow) -> str:
    return row.text_validation_type_or_show_slider_number.strip()


def is_free_text(row: FieldRow) -> bool:
    return row.field_type == "notes" or (row.field_type == "text" and not validation_of(row))


def is_date(row: FieldRow) -> bool:
    return row.field_type == "text" and validation_of(row).startswith("date")


def drops(options: Deidentify, row: FieldRow, record_field: str) -> bool:
    """Whether the options leave this field out (never the record id, hashed instead)."""
    if row.field_name == record_field:
        return False
    return (
        (options.remove_identifiers and is_identifier(row))
        or (options.remove_free_text and is_free_text(row))
        or (options.remove_dates and is_date(row))
    )


def project_secret(project: Project) -> bytes:
    """The project's export secret, created on first use (safe against a concurrent first)."""
    from opencrf.exports.models import ExportSecret

    found = ExportSecret.objects.filter(project=project).values_list("secret", flat=True).first()
    if found is None:
        try:
            with transaction.atomic():
                found = ExportSecret.objects.create(
                    project=project, secret=secrets.token_hex(32)
                ).secret
        except IntegrityError:
            found = ExportSecret.objects.values_list("secret", flat=True).get(project=project)
    return bytes.fromhex(found)


class Keys:
    """The keyed functions of one project: record id hash and per-record date offset."""

    def __init__(self, secret: bytes) -> None:
        # Separate keys per purpose, so a hash never reveals anything about an offset.
        self._hash_key = hmac.new(secret, b"opencrf:record-id", hashlib.sha256).digest()
        self._shift_key = hmac.new(secret, b"opencrf:date-shift", hashlib.sha256).digest()
        self._shifts: dict[str, int] = {}

    def record_hash(self, record_id: str) -> str:
        mac = hmac.new(self._hash_key, record_id.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()[:HASH_LENGTH]

    def shift_days(self, record_id: str) -> int:
        days = self._shifts.get(record_id)
        if days is None:
            mac = hmac.new(self._shift_key, record_id.encode("utf-8"), hashlib.sha256)
            days = int.from_bytes(mac.digest()[:8], "big") % SHIFT_DAYS
            if len(self._shifts) > 10_000:  # records come in order: older ones are done
                self._shifts.clear()
            self._shifts[record_id] = days
        return days


def shift_value(value: str, days: int) -> str:
    """A stored date (`YYYY-MM-DD`) or datetime (`YYYY-MM-DD HH:MM[:SS]`) moved back `days`
    days, in the same form; anything else is returned unchanged."""
    if len(value) < 10 or not days:
        return value
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return (day - timedelta(days=days)).isoformat() + value[10:]
