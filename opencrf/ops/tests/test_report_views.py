from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone

from opencrf.ops.models import CapacitySnapshot, Incident
from opencrf.ops.tests.test_reports import at, incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def installed_in_january_2025():
    """Reports exist from the instance's first migration on: these tests look back to 2025."""
    MigrationRecorder.Migration.objects.update(applied=at(2025, 1, 15, 9))


@pytest.fixture
def ada(client, admin_ada):
    client.force_login(admin_ada)
    return client


def test_only_administrators_see_the_reports(client, pi_paula):
    urls = ["/control/reports/", "/control/reports/2026-11/", "/control/reports/2026.pdf"]
    for url in urls:
        assert client.get(url).status_code == 404
    client.force_login(pi_paula)
    for url in urls:
        assert client.get(url).status_code == 404


def test_the_index_lists_recent_months_and_years(ada):
    response = ada.get(reverse("ops_reports:index"))
    assert response.status_code == 200
    listed = _listed(response.content.decode())
    year = timezone.localdate().year
    assert len(listed) == 12 + len([y for y in (year, year - 1, year - 2) if y >= 2025])
    assert listed[0] == f"{timezone.localdate():%Y-%m}"
    assert listed[12:] == [str(y) for y in (year, year - 1, year - 2) if y >= 2025]


def test_choosing_a_period_opens_its_report(ada):
    response = ada.get("/control/reports/", {"period": "2026-11"})
    assert response.status_code == 302
    assert response["Location"] == "/control/reports/2026-11/"
    response = ada.get("/control/reports/", {"period": "2026"})
    assert response["Location"] == "/control/reports/2026/"


def test_a_bad_period_is_refused_with_a_clear_message(ada):
    response = ada.get("/control/reports/", {"period": "2026-13"})
    assert response.status_code == 400
    assert "The month must be between 1 and 12." in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/control/reports/2026-13/", "/control/reports/2026-00.pdf", "/control/reports/1999/"]
)
def test_an_invalid_period_in_the_address_is_not_found(ada, url):
    assert ada.get(url).status_code == 404


def test_the_monthly_page_draws_charts_inline_and_escapes_incident_text(ada):
    incident(2, at(2026, 11, 3, 10), hours=1, title='<img src=x onerror="alert(1)">')
    CapacitySnapshot.objects.create(day=date(2026, 11, 1), records=7, users_registered=4)
    CapacitySnapshot.objects.create(day=date(2026, 11, 2), records=9, users_registered=5)

    response = ada.get("/control/reports/2026-11/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    for key in ("incidents", "sizes", "records", "projects", "users"):
        assert re.search(
            rf'data-testid="chart-{key}"><figcaption[^<]*>[^<]+</figcaption><svg ', html
        )
    assert html.count("<polyline ") >= 4
    assert not re.search(r"<svg[^>]*style=|<(rect|line|text|polyline)[^>]*style=", html)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert Incident.objects.count() == 1


def test_the_annual_page_and_the_pdfs_download(ada):
    response = ada.get("/control/reports/2026/")
    assert response.status_code == 200
    assert "Annual operations report for 2026" in response.content.decode()
    for url, name in [
        ("/control/reports/2026-11.pdf", "opencrf-operations-report-2026-11.pdf"),
        ("/control/reports/2026.pdf", "opencrf-operations-report-2026.pdf"),
    ]:
        pdf = ada.get(url)
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert (
            pdf["Content-Disposition"]
            == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
        )
        assert pdf.content.startswith(b"%PDF-")


def test_the_page_follows_the_users_language(ada, admin_ada):
    admin_ada.language = "ja"
    admin_ada.save()
    html = ada.get("/control/reports/2026-11/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="ja">' in html
    assert "コントロールセンター" in html


def test_the_pages_only_answer_reading(ada):
    from django.test import Client

    from opencrf.accounts.models import User

    assert ada.post("/control/reports/2026-11/").status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="admin_ada"))
    assert client.post("/control/reports/2026-11/").status_code == 403


def test_the_month_links_have_two_digit_months(ada):
    html = ada.get("/control/reports/2026-01/").content.decode()
    assert 'href="/control/reports/2026-01.pdf"' in html
    assert ada.get("/control/reports/2026-1/").status_code == 200


def _listed(html: str) -> list[str]:
    return re.findall(r'href="/control/reports/([0-9-]+)/"', html)


def test_a_new_instance_lists_and_serves_only_periods_since_it_began(ada):
    today = timezone.localdate()
    MigrationRecorder.Migration.objects.update(applied=timezone.now())
    this_month, this_year = f"{today:%Y-%m}", f"{today:%Y}"
    last_month = f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"

    html = ada.get(reverse("ops_reports:index")).content.decode()

    assert _listed(html) == [this_month, this_year]
    assert ada.get(f"/control/reports/{this_month}/").status_code == 200
    assert ada.get(f"/control/reports/{this_year}/").status_code == 200
    for url in [
        f"/control/reports/{last_month}/",
        f"/control/reports/{last_month}.pdf",
        f"/control/reports/{today.year - 1}/",
        f"/control/reports/{today.year - 1}.pdf",
    ]:
        assert ada.get(url).status_code == 404, url


def test_choosing_a_period_before_the_instance_says_when_it_began(ada):
    MigrationRecorder.Migration.objects.update(applied=at(2026, 3, 10, 9))

    response = ada.get("/control/reports/", {"period": "2026-02"})

    assert response.status_code == 400
    assert (
        "There is no report for 2026-02: this instance began on 2026-03-10."
        in response.content.decode()
    )
    assert ada.get("/control/reports/", {"period": "2026-03"}).status_code == 302


def test_history_carried_over_from_before_the_first_migration_keeps_its_periods(ada):
    MigrationRecorder.Migration.objects.update(applied=timezone.now())
    CapacitySnapshot.objects.create(day=date(2024, 6, 30), records=7)

    assert ada.get("/control/reports/2024-06/").status_code == 200
    assert ada.get("/control/reports/2024-05/").status_code == 404
    assert ada.get("/control/reports/2024/").status_code == 200


def test_the_command_line_refuses_a_report_from_before_the_instance(capsys):
    from opencrf.cli import main

    MigrationRecorder.Migration.objects.update(applied=at(2026, 3, 10, 9))

    assert main(["report", "monthly", "2026-02"]) == 1
    assert "no report for 2026-02: this instance began on 2026-03-10\n" in capsys.readouterr().err
    assert main(["report", "monthly", "2026-03"]) == 0


@pytest.mark.parametrize(
    ("heads", "shown"),
    [
        ([(3, 1)], "1 chain, 1 entry"),
        ([(0, 1), (3, 1)], "2 chains, 2 entries"),
    ],
)
def test_the_newest_checkpoint_counts_chains_and_entries_in_the_singular_and_plural(
    ada, heads, shown
):
    from opencrf.audit.anchors import ChainHead, Checkpoint, checkpoint_write

    chains = tuple(ChainHead(project, count, count, "ab" * 32) for project, count in heads)
    checkpoint_write(Checkpoint(at(2026, 11, 3, 10), "hourly", chains))

    html = ada.get("/control/reports/2026-11/").content.decode()

    assert f"2026-11-03 10:00: {shown}</td>" in html
