from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage

from opencrf.files.checks import FileRefused
from opencrf.files.models import StoredFile
from opencrf.files.services import FileInfected, file_delete, file_store
from opencrf.files.tests import samples
from opencrf.files.tests.conftest import file_events, upload

pytestmark = pytest.mark.django_db


def test_a_file_is_stored_under_an_internal_key_with_its_exact_bytes_and_hash(
    paula_context, classic_project, stored_objects
):
    data = samples.PDF + bytes(range(256)) * 1000  # several chunks
    stored = file_store(
        context=paula_context, project=classic_project, upload=upload("../../同意書.pdf", data)
    )
    assert stored.original_name == "同意書.pdf"
    assert stored.size == len(data)
    assert stored.media_type == "application/pdf"
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.created_by == paula_context.actor
    assert stored.key.startswith(f"projects/{classic_project.pk}/files/")
    assert stored_objects() == [stored.key]
    with default_storage.open(stored.key, "rb") as handle:
        assert handle.read() == data


def test_storing_writes_one_audit_event_naming_the_file(paula_context, classic_project):
    stored = file_store(
        context=paula_context, project=classic_project, upload=upload("x.png", samples.PNG)
    )
    [event] = file_events()
    assert event.action == "file.store"
    assert event.project_id == classic_project.pk
    assert event.actor == paula_context.actor
    assert event.changes == {
        "file_id": stored.pk,
        "name": "x.png",
        "size": len(samples.PNG),
        "media_type": "image/png",
        "sha256": hashlib.sha256(samples.PNG).hexdigest(),
    }


def _assert_nothing_stored(stored_objects):
    assert not StoredFile.objects.exists()
    assert stored_objects() == []
    assert file_events() == []


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", samples.HTML),
        ("drawing.svg", samples.SVG),
        ("setup.exe", samples.EXE),
        ("report.pdf", samples.EXE),
        ("empty.pdf", b""),
    ],
)
def test_a_refused_upload_leaves_no_row_no_object_and_no_audit(
    paula_context, classic_project, stored_objects, name, data
):
    with pytest.raises(FileRefused):
        file_store(context=paula_context, project=classic_project, upload=upload(name, data))
    _assert_nothing_stored(stored_objects)


def test_an_empty_file_is_stored_when_allowed(paula_context, classic_project, stored_objects):
    stored = file_store(
        context=paula_context,
        project=classic_project,
        upload=upload("e.txt", b""),
        allow_empty=True,
    )
    assert (stored.size, stored.media_type) == (0, "application/octet-stream")
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert stored_objects() == [stored.key]


class _Unreadable:
    name = "huge.mp4"
    size = 10_000

    def chunks(self, chunk_size=None):
        raise AssertionError("an over-limit file must be refused before it is read")


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    paula_context, classic_project, stored_objects
):
    with pytest.raises(FileRefused, match="too large"):
        file_store(
            context=paula_context, project=classic_project, upload=_Unreadable(), max_bytes=9_999
        )
    _assert_nothing_stored(stored_objects)


class _Understated:
    """Claims 10 bytes, delivers far more: the limit holds while streaming."""

    name = "clip.mp4"
    size = 10

    def chunks(self, chunk_size=None):
        yield samples.MP4
        yield bytes(5000)
        yield bytes(5000)


def test_an_upload_that_understates_its_size_is_stopped_at_the_limit(
    paula_context, classic_project, stored_objects
):
    with pytest.raises(FileRefused, match="too large"):
        file_store(
            context=paula_context, project=classic_project, upload=_Understated(), max_bytes=6000
        )
    _assert_nothing_stored(stored_objects)


def test_the_default_limit_comes_from_settings(
    settings, paula_context, classic_project, stored_objects
):
    settings.OPENCRF_FILE_MAX_BYTES = 10
    with pytest.raises(FileRefused, match="too large"):
        file_store(
            context=paula_context, project=classic_project, upload=upload("a.png", samples.PNG)
        )
    _assert_nothing_stored(stored_objects)


def test_delete_marks_the_file_and_audits_once(paula_context, classic_project, stored_objects):
    stored = file_store(
        context=paula_context, project=classic_project, upload=upload("x.png", samples.PNG)
    )
    file_delete(context=paula_context, stored_file=stored, reason="wrong patient")
    file_delete(context=paula_context, stored_file=stored, reason="again")
    stored.refresh_from_db()
    assert stored.deleted_at is not None
    assert stored_objects() == [stored.key]  # bytes stay until the purge job
    assert [(e.action, e.reason) for e in file_events()] == [
        ("file.store", ""),
        ("file.delete", "wrong patient"),
    ]


# --- Virus scanning through clamd (a fake server; see conftest.FakeClamd) ---


def test_a_clean_scan_stores_the_file_after_clamd_saw_every_byte(
    fake_clamd, paula_context, classic_project
):
    clamd = fake_clamd(b"stream: OK\0")
    data = samples.JPEG + bytes(200_000)
    stored = file_store(
        context=paula_context, project=classic_project, upload=upload("p.jpg", data)
    )
    clamd.close()
    assert clamd.command == b"zINSTREAM\0"
    assert bytes(clamd.received) == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_an_infected_file_is_refused_and_the_refusal_audited(
    fake_clamd, paula_context, classic_project, stored_objects
):
    fake_clamd(b"stream: Eicar-Test-Signature FOUND\0")
    with pytest.raises(FileInfected) as refused:
        file_store(
            context=paula_context, project=classic_project, upload=upload("eicar.txt", b"X5O!P%")
        )
    assert refused.value.message == (
        "“eicar.txt” was refused: the virus scanner found Eicar-Test-Signature."
    )
    assert not StoredFile.objects.exists()
    assert stored_objects() == []
    [event] = file_events()
    assert (event.action, event.changes["signature"]) == ("file.refused", "Eicar-Test-Signature")


@pytest.mark.parametrize("reply", [b"INSTREAM size limit exceeded. ERROR\0", b""])
def test_a_scanner_without_a_verdict_refuses_the_upload(
    fake_clamd, paula_context, classic_project, stored_objects, reply
):
    fake_clamd(reply)
    with pytest.raises(FileRefused, match="virus scanner is unavailable"):
        file_store(
            context=paula_context, project=classic_project, upload=upload("a.png", samples.PNG)
        )
    _assert_nothing_stored(stored_objects)


@pytest.mark.parametrize("address", ["unused", "/nonexistent/clamd.sock", "no-port"])
def test_an_unreachable_scanner_refuses_the_upload(
    settings, unused_address, paula_context, classic_project, stored_objects, address
):
    settings.OPENCRF_CLAMD_ADDRESS = unused_address if address == "unused" else address
    with pytest.raises(FileRefused) as refused:
        file_store(
            context=paula_context, project=classic_project, upload=upload("a.png", samples.PNG)
        )
    assert refused.value.message == "The virus scanner is unavailable; try again later."
    _assert_nothing_stored(stored_objects)
