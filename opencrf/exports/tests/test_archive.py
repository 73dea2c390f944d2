"""The export archive: exports asked for on a report's page run as jobs, are kept with their
size, rows and SHA-256, downloaded again (audited) by those whose rights cover them, and
deleted when they expire."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.exports import archive, services
from opencrf.exports.models import ExportFile
from opencrf.exports.table import ExportRequest
from opencrf.exports.tests.conftest import SITE_A, export_bytes
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
QUEUED = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def immediate(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def queued(settings):
    settings.TASKS = QUEUED


@pytest.fixture
def site_b_ben(django_user_model, demo):
    """Sam's counterpart at the second site, with the same rights."""
    user = django_user_model.objects.create_user(username="site_b_ben", password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name="hokurei_med"),
        form_rights=dict.fromkeys(forms, "edit"),
        export_rights=dict.fromkeys(forms, "full"),
    )
    return user


@pytest.fixture
def site_a_alf(django_user_model, demo):
    """A second member at Sam's site with Sam's rights."""
    user = django_user_model.objects.create_user(username="site_a_alf", password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name=SITE_A),
        form_rights=dict.fromkeys(forms, "edit"),
        export_rights=dict.fromkeys(forms, "full"),
    )
    return user


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _ask(user, demo, key="A", **data):
    return _client(user).post(
        f"/projects/{demo.pk}/reports/{key}/export/", {"format": "csv", **data}
    )


def _stored(export: ExportFile) -> bytes:
    with default_storage.open(export.key, "rb") as stored:
        return stored.read()


def _download(client, demo, export_id):
    return client.get(f"/projects/{demo.pk}/reports/archive/{export_id}/download/")


def test_an_export_runs_as_a_job_and_is_archived_with_its_sha256_size_and_rows(
    demo, site_a_sam, immediate
):
    response = _ask(site_a_sam, demo, remove_dates="1")

    assert response.status_code == 302
    assert response["Location"] == f"/projects/{demo.pk}/reports/archive/"
    export = ExportFile.objects.get()
    data = _stored(export)
    assert data == export_bytes(site_a_sam, demo, "csv", remove_dates=True)
    assert export.status == ExportFile.Status.DONE
    assert export.sha256 == hashlib.sha256(data).hexdigest()
    assert export.size == len(data)
    assert export.rows_written == export.rows_expected == len(data.splitlines()) - 1 == 12
    assert export.filename == f"project_{demo.pk}_report_A_csv.csv"
    assert export.options == {"query": {}, "deidentify": ["remove_dates"]}
    assert export.group.unique_name == SITE_A
    assert export.requested_by == site_a_sam
    assert export.key.startswith(f"projects/{demo.pk}/exports/")
    days = (export.expires_at - export.finished_at).total_seconds() / 86400
    assert days == 30


def test_the_request_and_the_write_are_audited(demo, site_a_sam, immediate):
    _ask(site_a_sam, demo, "B", forms=["enrolment"], hash_record_id="1")
    export = ExportFile.objects.get()

    asked = AuditEvent.objects.get(project_id=demo.pk, action="export.request")
    written = AuditEvent.objects.get(project_id=demo.pk, action="data.export")
    assert asked.actor == written.actor == site_a_sam
    assert asked.details == (
        "report B; format csv; de-identification: hash_record_id; events=[]; forms=['enrolment']"
    )
    assert asked.changes["export"] == export.pk
    assert written.details == f"format csv; {export.rows_written} rows; de-identification: " + (
        "hash_record_id"
    )


def test_the_archive_page_lists_the_export_with_its_download_size_and_checksum(
    demo, site_a_sam, immediate
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()

    html = _client(site_a_sam).get(f"/projects/{demo.pk}/reports/archive/").content.decode()

    assert f'data-export="{export.pk}" data-status="done"' in html
    assert f'href="/projects/{demo.pk}/reports/archive/{export.pk}/download/"' in html
    assert f">{export.sha256}</code>" in html
    assert "All data (all records and fields)" in html
    assert 'data-testid="nav-export-archive"' in html


def test_progress_is_reported_every_n_rows_and_at_the_end(demo, pi_paula, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 10)
    heard: list[int] = []

    rows = services.export_write(
        context=AuditContext(actor=pi_paula),
        project=demo,
        format="csv",
        request=ExportRequest(),
        out=io.BytesIO(),
        progress=heard.append,
    ).rows

    assert rows == 39
    assert heard == [10, 20, 30, 39]


def test_the_status_poll_gives_the_progress_of_a_running_export(demo, site_a_sam, queued):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    ExportFile.objects.filter(pk=export.pk).update(
        status=ExportFile.Status.RUNNING, rows_written=30, rows_expected=120
    )

    answer = _client(site_a_sam).get(
        f"/projects/{demo.pk}/reports/archive/status/", {"id": [str(export.pk), "x", "99999"]}
    )

    assert answer.json() == {
        "exports": [
            {
                "id": export.pk,
                "status": "running",
                "rows_written": 30,
                "rows_expected": 120,
                "percent": 25,
                "download": "",
            }
        ]
    }


def test_the_job_sets_the_rows_it_expects_before_writing(demo, site_a_sam, queued, monkeypatch):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    seen = []
    real = archive.export_write

    def spy(**kwargs):
        row = ExportFile.objects.get(pk=export.pk)
        seen.append((row.status, row.rows_expected, row.rows_written))
        return real(**kwargs)

    monkeypatch.setattr(archive, "export_write", spy)
    archive.export_file_write(export.pk)

    assert seen == [(ExportFile.Status.RUNNING, 12, 0)]


def test_each_download_streams_the_stored_file_and_is_audited(demo, site_a_sam, immediate):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    client = _client(site_a_sam)

    first = _download(client, demo, export.pk)
    second = _download(client, demo, export.pk)

    assert b"".join(first.streaming_content) == _stored(export)
    assert b"".join(second.streaming_content) == _stored(export)
    assert first["Content-Disposition"] == (
        f"attachment; filename=\"{export.filename}\"; filename*=UTF-8''{export.filename}"
    )
    assert first["Content-Length"] == str(export.size)
    downloads = AuditEvent.objects.filter(project_id=demo.pk, action="export.download")
    assert [(e.actor, e.changes["export"]) for e in downloads] == [(site_a_sam, export.pk)] * 2


def test_a_member_of_the_same_site_with_the_same_rights_sees_and_downloads_it(
    demo, site_a_sam, site_a_alf, immediate
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()

    response = _download(_client(site_a_alf), demo, export.pk)

    assert response.status_code == 200
    assert archive.exports_visible_to(site_a_alf, demo) == [export]


def test_another_sites_member_gets_404_and_never_sees_the_export(
    demo, site_a_sam, site_b_ben, immediate
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    client = _client(site_b_ben)

    assert _download(client, demo, export.pk).status_code == 404
    html = client.get(f"/projects/{demo.pk}/reports/archive/").content.decode()
    assert "data-export=" not in html
    poll = client.get(f"/projects/{demo.pk}/reports/archive/status/", {"id": export.pk})
    assert poll.json() == {"exports": []}
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_a_grouped_member_never_sees_an_export_of_every_site(demo, pi_paula, site_a_sam, immediate):
    _ask(pi_paula, demo)
    export = ExportFile.objects.get()

    assert _download(_client(site_a_sam), demo, export.pk).status_code == 404
    assert archive.exports_visible_to(site_a_sam, demo) == []
    assert archive.exports_visible_to(pi_paula, demo) == [export]


def test_an_export_made_with_fuller_rights_is_hidden_from_a_deidentified_member(
    demo, pi_paula, deidentified_dee, immediate
):
    _ask(pi_paula, demo)
    full = ExportFile.objects.get()
    _ask(deidentified_dee, demo)
    partial = ExportFile.objects.exclude(pk=full.pk).get()

    assert _download(_client(deidentified_dee), demo, full.pk).status_code == 404
    assert archive.exports_visible_to(deidentified_dee, demo) == [partial]
    assert archive.exports_visible_to(pi_paula, demo) == [partial, full]


def test_an_export_id_of_another_project_is_not_found_through_this_one(
    demo, pi_paula, site_a_sam, classic_project, immediate
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    client = _client(pi_paula)

    assert _download(client, demo, 999_999).status_code == 404
    assert _download(client, classic_project, export.pk).status_code in (403, 404)
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_a_non_member_gets_404_for_the_archive_and_the_file(
    demo, site_a_sam, site_b_bea, immediate
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    client = _client(site_b_bea)

    assert client.get(f"/projects/{demo.pk}/reports/archive/").status_code == 404
    assert _download(client, demo, export.pk).status_code == 404


def test_a_requester_whose_rights_were_lowered_before_the_job_ran_gets_no_file(
    demo, site_a_sam, queued
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    member = ProjectMember.objects.get(project=demo, user=site_a_sam)
    member.export_rights = dict.fromkeys(member.export_rights, "deidentified")
    member.save()

    archive.export_file_write(export.pk)

    export.refresh_from_db()
    assert export.status == ExportFile.Status.FAILED
    assert export.error == "The requester's export rights changed after the export was asked for."
    assert (export.key, export.size, export.sha256) == ("", 0, "")
    assert not AuditEvent.objects.filter(action="data.export").exists()


def test_a_requester_removed_from_the_project_before_the_job_ran_gets_no_file(
    demo, site_a_sam, queued
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    ProjectMember.objects.filter(project=demo, user=site_a_sam).delete()

    archive.export_file_write(export.pk)

    export.refresh_from_db()
    assert export.status == ExportFile.Status.FAILED
    assert export.error == "No such project."
    assert not AuditEvent.objects.filter(action="data.export").exists()


def test_a_deactivated_requester_gets_no_file(demo, site_a_sam, queued):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    site_a_sam.is_active = False
    site_a_sam.save()

    archive.export_file_write(export.pk)

    export.refresh_from_db()
    assert export.error == "The requester's account is no longer active."


def test_a_job_run_twice_writes_once(demo, site_a_sam, immediate):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()

    assert archive.export_file_write(export.pk) is None
    assert AuditEvent.objects.filter(action="data.export").count() == 1


def test_an_unknown_format_is_refused_and_nothing_is_recorded(demo, site_a_sam, immediate):
    response = _ask(site_a_sam, demo, format="exe")

    assert response.status_code == 302
    assert response["Location"] == f"/projects/{demo.pk}/reports/A/"
    assert not ExportFile.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_odm_of_a_selection_is_refused_before_anything_is_queued(demo, pi_paula, immediate):
    response = _ask(pi_paula, demo, "B", format="odm", forms=["enrolment"])

    assert response["Location"] == f"/projects/{demo.pk}/reports/B/?forms=enrolment"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["The ODM export holds all data; it takes no selection."]
    assert not ExportFile.objects.exists()


def test_a_report_the_member_may_not_view_cannot_be_exported(demo, site_a_sam, immediate):
    assert _ask(site_a_sam, demo, "999999").status_code == 404
    assert not ExportFile.objects.exists()


def test_expired_exports_are_deleted_audited_and_shown_as_expired(demo, site_a_sam, immediate):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    key = export.key
    ExportFile.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(1))

    assert archive.exports_expire() == 1
    assert archive.exports_expire() == 0

    export.refresh_from_db()
    assert export.status == ExportFile.Status.EXPIRED
    assert not default_storage.exists(key)
    client = _client(site_a_sam)
    assert _download(client, demo, export.pk).status_code == 404
    html = client.get(f"/projects/{demo.pk}/reports/archive/").content.decode()
    assert f'data-export="{export.pk}" data-status="expired"' in html
    assert AuditEvent.objects.filter(project_id=demo.pk, action="export.expire").count() == 1


def test_an_export_left_running_by_a_dead_worker_is_marked_failed(
    demo, site_a_sam, queued, settings
):
    _ask(site_a_sam, demo)
    export = ExportFile.objects.get()
    ExportFile.objects.filter(pk=export.pk).update(status=ExportFile.Status.RUNNING)
    later = timezone.now() + timedelta(seconds=settings.OPENCRF_WORKER_JOB_MAX_SECONDS + 1)

    archive.exports_expire(later)

    export.refresh_from_db()
    assert (export.status, export.error) == (
        ExportFile.Status.FAILED,
        "The export did not finish in time.",
    )


def test_a_spss_export_keeps_its_labels_through_the_archive(demo, pi_paula, immediate, tmp_path):
    import pyreadstat

    _ask(pi_paula, demo, format="spss")
    export = ExportFile.objects.get()
    path = tmp_path / "data.sav"
    path.write_bytes(b"".join(_download(_client(pi_paula), demo, export.pk).streaming_content))

    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == export.rows_written == 39
    assert meta.column_names_to_labels["record_id"] == "研究対象者識別コード"


@pytest.mark.parametrize("format", ["xlsx", "stata", "sas", "r", "tidy", "odm", "csv-labels"])
def test_the_checksum_and_size_are_those_of_the_stored_file_in_every_format(
    demo, pi_paula, immediate, format
):
    _ask(pi_paula, demo, format=format)
    export = ExportFile.objects.get()
    data = _stored(export)

    assert export.status == ExportFile.Status.DONE
    assert (export.sha256, export.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert export.rows_written == (12 if format == "odm" else 39)  # ODM counts records


def test_only_the_reports_own_live_filters_with_offered_values_are_kept(
    demo, pi_paula, site_a_sam, immediate
):
    from opencrf.exports.reports import ReportSpec, report_create

    spec = ReportSpec(
        title="By site", fields=("sex",), live_filters=("redcap_data_access_group", "sex")
    )
    report = report_create(context=AuditContext(actor=pi_paula), project=demo, spec=spec)
    data = {
        "live_redcap_data_access_group": "hokurei_med",  # not Sam's site: not offered to him
        "live_sex": "1",
        "live_nope": "x" * 500,
    }

    _ask(site_a_sam, demo, str(report.pk), **data)

    export = ExportFile.objects.get()
    assert export.options["query"] == {"live_sex": "1"}
    assert export.report_title == "By site"
    assert export.status == ExportFile.Status.DONE
    assert export.rows_written == 2
