"""Instruments as PDF through the API (spec §2.24): blank, one record, every record."""

from __future__ import annotations

import io

import orjson
import pytest
from pypdf import PdfReader

from opencrf.api.tests.client import post

pytestmark = pytest.mark.django_db


def text_of(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_blank_instrument_lists_its_fields_and_choices(token, study):
    response = post(
        {"token": token, "content": "pdf", "instrument": "enrolment", "returnFormat": "json"}
    )

    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = text_of(response.content)
    assert "Enrolment" in text and "Female" in text and "Race" in text


def test_a_filled_record_shows_its_values_and_hostile_labels_stay_text(token, study):
    post(
        {
            "token": token,
            "content": "record",
            "format": "json",
            "data": orjson.dumps(
                [
                    {"study_id": "1", "sex": "2"},
                    {
                        "study_id": "1",
                        "redcap_repeat_instrument": "adverse_event",
                        "redcap_repeat_instance": "1",
                        "ae_term": "<b>Rash</b> & itch",
                    },
                ]
            ).decode(),
        }
    )

    one = post({"token": token, "content": "pdf", "record": "1", "returnFormat": "json"})
    every = post({"token": token, "content": "pdf", "allRecords": "", "returnFormat": "json"})

    text = text_of(one.content)
    assert "Record 1" in text and "<b>Rash</b> & itch" in text
    assert len(PdfReader(io.BytesIO(every.content)).pages) == 2


def test_a_record_of_another_group_or_missing_is_an_error(token, study):
    response = post({"token": token, "content": "pdf", "record": "nope", "returnFormat": "json"})

    assert (response.status_code, orjson.loads(response.content)) == (
        400,
        {"error": 'The record "nope" does not exist'},
    )
