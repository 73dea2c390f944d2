"""Image previews of uploaded files: served inline only for sniffed raster images, via records."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.files.models import StoredFile
from opencrf.files.services import file_store, storage_key
from opencrf.files.tests import samples
from opencrf.records.models import FormData
from opencrf.records.services import record_create

pytestmark = pytest.mark.django_db

EVENT, FORM = "baseline_arm_1", "visit"
PNG = samples.PNG + b"\x00" * 40
IMG = re.compile(r"<img [^>]*>")


@pytest.fixture
def record(salt_rct, paula_context, groups):
    return record_create(
        context=paula_context, project=salt_rct, record_id="7", group=groups["osaka_central"]
    )


def form_url(project, record_id="7"):
    return reverse("records:form", args=[project.pk, record_id, EVENT, FORM, 1])


def preview_url(project, record_id="7", field="ecg_image"):
    return reverse("records:file_preview", args=[project.pk, record_id, EVENT, FORM, 1, field])


def upload(client, project, name, data):
    page = client.get(form_url(project))
    response = client.post(
        form_url(project),
        {
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "visit_date": "2026-05-01",
            "reason": "new file",
            "action": "stay",
            "ecg_image": SimpleUploadedFile(name, data),
        },
    )
    assert response.status_code == 302
    return StoredFile.objects.latest("pk")


def hold(record, stored):
    """Point the form's file field at `stored` directly (files the upload would refuse)."""
    FormData.objects.filter(record=record, form_name=FORM).update(
        values={"visit_date": "2026-05-01", "ecg_image": str(stored.pk)}
    )


def planted(project, name, media_type, data):
    """A stored file whose recorded type or bytes no upload could have produced."""
    key = default_storage.save(storage_key(project), ContentFile(data))
    return StoredFile.objects.create(
        project=project, key=key, original_name=name, size=len(data), media_type=media_type
    )


def test_a_png_is_served_inline_with_locked_down_headers(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    upload(client, salt_rct, "ecg scan.png", PNG)

    response = client.get(preview_url(salt_rct))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(PNG))
    assert response["Content-Disposition"] == (
        "inline; filename=\"ecg scan.png\"; filename*=UTF-8''ecg%20scan.png"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("trace.jpg", samples.JPEG, "image/jpeg"),
        ("trace.gif", samples.GIF, "image/gif"),
        ("trace.webp", samples.WEBP, "image/webp"),
    ],
)
def test_jpeg_gif_and_webp_are_served_as_their_sniffed_type(
    client, pi_paula, salt_rct, record, name, data, media_type
):
    client.force_login(pi_paula)
    upload(client, salt_rct, name, data)

    response = client.get(preview_url(salt_rct))

    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert b"".join(response.streaming_content) == data


def test_a_japanese_name_gets_an_ascii_fallback(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    upload(client, salt_rct, "心電図.png", PNG)

    response = client.get(preview_url(salt_rct))

    assert response["Content-Disposition"] == (
        "inline; filename=\"file.png\"; filename*=UTF-8''%E5%BF%83%E9%9B%BB%E5%9B%B3.png"
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [("ecg.pdf", samples.PDF), ("ecg.csv", b"time,mv\n0,1.2\n"), ("ecg.tif", samples.TIFF)],
)
def test_files_that_are_not_previewable_images_are_missing(
    client, pi_paula, salt_rct, record, name, data
):
    client.force_login(pi_paula)
    upload(client, salt_rct, name, data)

    assert client.get(preview_url(salt_rct)).status_code == 404


@pytest.mark.parametrize(
    ("name", "media_type", "data"),
    [
        ("page.png", "image/png", samples.HTML),
        ("logo.svg", "image/svg+xml", samples.SVG),
        ("page.html", "text/html", samples.HTML),
    ],
)
def test_markup_is_never_previewed_whatever_its_recorded_type(
    client, pi_paula, salt_rct, record, name, media_type, data
):
    client.force_login(pi_paula)
    upload(client, salt_rct, "ecg.png", PNG)
    hold(record, planted(salt_rct, name, media_type, data))

    assert client.get(preview_url(salt_rct)).status_code == 404


def test_another_groups_record_is_missing(client, pi_paula, kyoto_bea, salt_rct, record):
    client.force_login(pi_paula)
    upload(client, salt_rct, "ecg.png", PNG)
    client.force_login(kyoto_bea)

    assert client.get(preview_url(salt_rct)).status_code == 404


def test_missing_fields_other_fields_and_empty_values_are_missing(
    client, pi_paula, salt_rct, record
):
    client.force_login(pi_paula)
    assert client.get(preview_url(salt_rct)).status_code == 404
    upload(client, salt_rct, "ecg.png", PNG)

    assert client.get(preview_url(salt_rct, field="sbp")).status_code == 404
    assert client.get(preview_url(salt_rct, field="no_such_field")).status_code == 404
    assert client.get(preview_url(salt_rct, record_id="404")).status_code == 404


def test_a_file_of_another_project_is_missing(
    client, pi_paula, paula_context, classic_project, salt_rct, record
):
    client.force_login(pi_paula)
    upload(client, salt_rct, "ecg.png", PNG)
    other = file_store(
        context=paula_context,
        project=classic_project,
        upload=SimpleUploadedFile("other.png", PNG),
    )
    hold(record, other)

    assert client.get(preview_url(salt_rct)).status_code == 404


def test_a_removed_file_is_missing(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    stored = upload(client, salt_rct, "ecg.png", PNG)
    stored.deleted_at = stored.created_at
    stored.save(update_fields=["deleted_at"])

    assert client.get(preview_url(salt_rct)).status_code == 404


def test_the_form_shows_an_image_preview_under_the_link(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    upload(client, salt_rct, 'a"<b>.png', PNG)

    html = client.get(form_url(salt_rct)).content.decode()

    assert IMG.findall(html) == [
        f'<img src="{preview_url(salt_rct)}" alt="Preview of a&quot;&lt;b&gt;.png" '
        'loading="lazy" data-testid="preview-ecg_image">'
    ]
    assert f'<a class="crf-file-preview" href="{preview_url(salt_rct)}" target="_blank"' in html


def test_the_form_shows_no_preview_for_a_pdf(client, pi_paula, salt_rct, record):
    client.force_login(pi_paula)
    upload(client, salt_rct, "ecg.pdf", samples.PDF)

    html = client.get(form_url(salt_rct)).content.decode()

    assert "ecg.pdf" in html
    assert IMG.findall(html) == []
    assert "preview/" not in html
