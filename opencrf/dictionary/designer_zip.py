"""One instrument as REDCap's instrument zip: `instrument.csv`, its dictionary rows under the
standard header (REDCap's zips may also hold `OriginID.txt` and attachments, which are
ignored on upload). Uploads are read by content, within size limits, and never extracted."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import parse_dictionary_csv, write_dictionary_csv
from opencrf.dictionary.problems import DictionaryFileError

CSV_NAME = "instrument.csv"
MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_CSV_BYTES = 5 * 1024 * 1024


def instrument_zip(rows: Sequence[FieldRow]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CSV_NAME, write_dictionary_csv(rows).encode("utf-8"))
    return buffer.getvalue()


def read_instrument_zip(data: bytes) -> list[FieldRow]:
    """The rows of an instrument zip; InvalidInput naming what is wrong otherwise."""
    if len(data) > MAX_ZIP_BYTES:
        raise InvalidInput(_("The instrument zip is larger than 5 MB."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entry = archive.getinfo(CSV_NAME)
    except (zipfile.BadZipFile, KeyError):
        raise InvalidInput(
            _("That file is not an instrument zip: a zip holding instrument.csv is expected.")
        ) from None
    if entry.file_size > MAX_CSV_BYTES:
        raise InvalidInput(_("The instrument.csv in the zip is larger than 5 MB."))
    with archive.open(entry) as member:
        text = member.read(MAX_CSV_BYTES + 1)
    try:
        rows = parse_dictionary_csv(text, max_bytes=MAX_CSV_BYTES)
    except DictionaryFileError as error:
        raise InvalidInput(str(error)) from None
    if not rows:
        raise InvalidInput(_("The instrument.csv in the zip holds no fields."))
    return rows
