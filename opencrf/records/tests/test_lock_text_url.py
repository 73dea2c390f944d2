"""The lock texts page lives among the design pages, so no record id can hide it or be hidden."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db


def test_the_lock_texts_page_is_a_design_page(salt_rct):
    address = reverse("lock_texts:edit", args=[salt_rct.pk])

    assert address == f"/projects/{salt_rct.pk}/design/lock-texts/"
    assert resolve(address).func.__name__ == "lock_texts"


def test_a_record_named_lock_texts_has_its_own_home_page(
    client, pi_paula, paula_context, salt_rct, events
):
    record = record_create(context=paula_context, project=salt_rct, record_id="lock-texts")
    form_save(
        context=paula_context,
        record=record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "LT"},
        base_version=None,
    )
    client.force_login(pi_paula)

    home = client.get(f"/projects/{salt_rct.pk}/records/lock-texts/")

    assert home.status_code == 200
    assert '<strong data-testid="record-id">lock-texts</strong>' in home.content.decode()
    assert resolve(f"/projects/{salt_rct.pk}/records/lock-texts/").url_name == "home"


def test_the_lock_texts_page_needs_the_design_right(client, kyoto_bea, salt_rct):
    client.force_login(kyoto_bea)

    response = client.get(reverse("lock_texts:edit", args=[salt_rct.pk]))

    assert response.status_code == 403
