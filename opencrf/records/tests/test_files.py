"""File-upload fields in data entry: storing, replacing, removing, downloading via the record."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.files.models import StoredFile
from opencrf.files.services import file_store
from opencrf.files.tests import samples
from opencrf.records.errors import InvalidValues
from opencrf.records.models import FormData
from opencrf.records.services import form_save, record_create
from opencrf.records.tests.conftest import snapshot

pytestmark = pytest.mark.django_db

EVENT, FORM = "baseline_arm_1", "visit"
PNG = samples.PNG + b"\x00" * 40
FILE_INPUT = re.compile(r'<input type="file"[^>]*>')


@pytest.fixture
def record(salt_rct, paula_context, groups):
    return record_create(
        context=paula_context, project=salt_rct, record_id="7", group=groups["osaka_central"]
    )


def form_url(project, record_id="7"):
    return reverse("records:form", args=[project.pk, record_id, EVENT, FORM, 1])


def file_url(project, record_id="7", field="ecg_image"):
    return reverse("records:file_download", args=[project.pk, record_id, EVENT, FORM, 1, field])


def post_form(client, project, **extra):
    page = client.get(form_url(project))
    assert page.status_code == 200
    data = {
        "base_version": page.context["base_version"],
        "base_values": page.context["base_values"],
        "visit_date": "2026-05-01",
        "sbp": "120",
        "dbp": "70",
        "reason": "",
        "action": "stay",
    }
    data.update(extra)
    return client.post(form_url(project), data)


def stored_form(record):
    return FormData.objects.filter(record=record, form_name=FORM, instance=1).first()


def png(name="ecg.png", data=PNG):
    return SimpleUploadedFile(name, data, content_type="image/png")


def test_the_data_entry_form_takes_files(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    html = client.get(form_url(salt_rct)).content.decode()
    assert 'enctype="multipart/form-data"' in html
    tag = FILE_INPUT.search(html).group(0)
    assert 'name="ecg_image"' in tag
    assert "disabled" not in tag


def test_an_uploaded_file_is_stored_and_its_id_saved(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    response = post_form(client, salt_rct, ecg_image=png())
    assert response.status_code == 302
    stored = StoredFile.objects.get()
    assert stored.original_name == "ecg.png"
    assert stored.size == len(PNG)
    assert stored_form(record).values["ecg_image"] == str(stored.pk)
    update = AuditEvent.objects.filter(action="form.update").latest("pk")
    assert update.changes["ecg_image"] == ["", str(stored.pk)]
    html = client.get(form_url(salt_rct)).content.decode()
    assert f'href="{file_url(salt_rct)}"' in html
    assert "ecg.png" in html
    assert 'name="ecg_image__remove"' in html


def test_a_form_upload_is_logged_as_the_records_own(client, pi_paula, salt_rct, record, groups):
    # The entry must carry the record's key and group: history views show a site only its
    # own records' entries, so a file entry without them would be hidden from the record's site.
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png())
    entry = AuditEvent.objects.get(project_id=salt_rct.pk, action="file.store")
    assert (entry.record, entry.event, entry.instrument, entry.instance) == ("7", EVENT, FORM, 1)
    assert (entry.record_key, entry.group_id) == (record.pk, groups["osaka_central"].pk)


def test_the_file_name_is_escaped_on_the_page(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png("x<i>y.png"))
    assert StoredFile.objects.get().original_name == "x<i>y.png"
    html = client.get(form_url(salt_rct)).content.decode()
    assert "x&lt;i&gt;y.png" in html
    assert "x<i>y" not in html


def test_the_file_downloads_through_the_record(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png())
    response = client.get(file_url(salt_rct))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith('attachment; filename="ecg.png"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(PNG))


def test_another_groups_record_file_is_missing(client, pi_paula, kyoto_bea, salt_rct, record):
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png())
    client.force_login(kyoto_bea)
    assert client.get(file_url(salt_rct)).status_code == 404


def test_a_field_without_a_file_or_not_a_file_field_is_missing(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    assert client.get(file_url(salt_rct)).status_code == 404
    post_form(client, salt_rct, ecg_image=png())
    assert client.get(file_url(salt_rct, field="sbp")).status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [("photo.jpg", samples.HTML, "photo.jpg"), ("empty.png", b"", "empty")],
)
def test_a_refused_upload_saves_nothing(client, pi_paula, salt_rct, record, name, data, fragment):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)
    response = post_form(client, salt_rct, ecg_image=SimpleUploadedFile(name, data))
    assert response.status_code == 400
    problems = response.context["problems"]
    assert [p.field for _label, _anchor, p in problems] == ["ecg_image"]
    assert fragment in problems[0][2].message
    assert problems[0][2].message in response.content.decode()
    assert not StoredFile.objects.exists()
    assert snapshot(salt_rct) == before


def test_a_replaced_file_is_soft_deleted(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png("first.png"))
    first = StoredFile.objects.get()
    response = post_form(client, salt_rct, ecg_image=png("second.png"), reason="better scan")
    assert response.status_code == 302
    second = StoredFile.objects.exclude(pk=first.pk).get()
    first.refresh_from_db()
    assert first.deleted_at is not None
    assert second.deleted_at is None
    assert stored_form(record).values["ecg_image"] == str(second.pk)
    deletion = AuditEvent.objects.get(action="file.delete")
    assert deletion.changes["file_id"] == first.pk
    assert deletion.reason == "better scan"


def test_a_removed_file_is_blanked_and_soft_deleted(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    post_form(client, salt_rct, ecg_image=png())
    stored = StoredFile.objects.get()
    response = post_form(client, salt_rct, ecg_image__remove="1", reason="wrong patient")
    assert response.status_code == 302
    assert "ecg_image" not in stored_form(record).values
    update = AuditEvent.objects.filter(action="form.update").latest("pk")
    assert update.changes["ecg_image"] == [str(stored.pk), ""]
    stored.refresh_from_db()
    assert stored.deleted_at is not None
    assert client.get(file_url(salt_rct)).status_code == 404


def test_a_save_refused_after_the_upload_discards_the_file(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    response = post_form(client, salt_rct, ecg_image=png(), sbp="high")
    assert response.status_code == 400
    assert stored_form(record) is None
    assert StoredFile.objects.get().deleted_at is not None


def test_the_design_preview_keeps_the_file_input_disabled(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    url = reverse("dictionary:instrument", args=[salt_rct.pk, FORM])
    html = client.get(url).content.decode()
    tag = FILE_INPUT.search(html).group(0)
    assert "disabled" in tag


def test_a_forged_file_id_is_refused(salt_rct, classic_project, paula_context, events, record):
    other = file_store(context=paula_context, project=classic_project, upload=png())
    own = file_store(context=paula_context, project=salt_rct, upload=png())
    for value in (str(other.pk), "abc", str(own.pk + 1000)):
        with pytest.raises(InvalidValues) as refused:
            form_save(
                context=paula_context,
                record=record,
                event=events[EVENT],
                form_name=FORM,
                values={"ecg_image": value},
                base_version=0,
            )
        assert [(p.field, p.rule) for p in refused.value.problems] == [
            ("ecg_image", "unknown_file")
        ]
    saved = form_save(
        context=paula_context,
        record=record,
        event=events[EVENT],
        form_name=FORM,
        values={"ecg_image": str(own.pk)},
        base_version=0,
    )
    assert saved.form.values["ecg_image"] == str(own.pk)
