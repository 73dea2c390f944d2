"""The Stats & Charts page of a report: reachable from the report, charts inline, access kept."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from opencrf.audit.services import AuditContext
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _report(demo, user, **values):
    spec = ReportSpec(**({"title": "Sex and group", "fields": ("sex", "rand_group")} | values))
    return report_create(context=AuditContext(actor=user), project=demo, spec=spec)


def _count(html: str) -> str:
    found = re.search(r'data-testid="stats-count">([^<]+)<', html)
    assert found is not None
    return found.group(1)


def test_the_report_view_links_to_its_stats_with_the_live_filters_kept(demo, pi_paula):
    report = _report(demo, pi_paula, live_filters=("sex",))
    html = _client(pi_paula).get(f"/projects/{demo.pk}/reports/{report.pk}/?live_sex=1").content
    assert f'href="/projects/{demo.pk}/reports/{report.pk}/stats/?live_sex=1"'.encode() in html


def test_the_stats_page_shows_a_bar_chart_per_choice_with_japanese_labels(demo, pi_paula):
    report = _report(demo, pi_paula)

    response = _client(pi_paula).get(f"/projects/{demo.pk}/reports/{report.pk}/stats/")

    html = response.content.decode()
    assert response.status_code == 200
    section = html.split('data-testid="stats-field-sex"')[1].split("</section>")[0]
    assert section.count('class="stats-chart"') == 1
    assert "女性" in section
    assert "<script" not in html.split("</nav>")[-1].split("</main>")[0]


def test_grouping_by_the_data_access_group_adds_a_row_per_site(demo, pi_paula):
    report = _report(demo, pi_paula)

    url = f"/projects/{demo.pk}/reports/{report.pk}/stats/?group=redcap_data_access_group"
    html = _client(pi_paula).get(url).content.decode()

    groups = [g.unique_name for g in demo.groups.all()]
    assert len(groups) >= 2
    section = html.split('data-testid="stats-field-sex"')[1].split("</section>")[0]
    names = re.findall(r'<th scope="row">([^<]+)</th>', section)
    assert names[0] == "All rows"
    assert names[1:] == [g.name for g in demo.groups.all()]


def test_a_site_member_sees_the_stats_of_their_sites_rows_only(demo, pi_paula, site_a_sam):
    report = _report(demo, pi_paula)
    url = f"/projects/{demo.pk}/reports/{report.pk}/stats/"

    everyone = _count(_client(pi_paula).get(url).content.decode())
    own = _count(_client(site_a_sam).get(url).content.decode())

    site_a = demo.records.filter(group__unique_name="toto_univ").count()
    assert own.endswith(f" · {site_a} records")
    assert everyone.endswith(f" · {demo.records.count()} records")
    assert 0 < site_a < demo.records.count()


def test_built_in_report_a_has_stats(demo, pi_paula):
    response = _client(pi_paula).get(f"/projects/{demo.pk}/reports/A/stats/")

    assert response.status_code == 200
    assert b'data-testid="stats-field-sex"' in response.content


def test_report_b_without_instruments_is_sent_back_to_the_list(demo, pi_paula):
    response = _client(pi_paula).get(f"/projects/{demo.pk}/reports/B/stats/")

    assert response.status_code == 302
    assert response["Location"] == f"/projects/{demo.pk}/reports/"


def test_a_hidden_report_looks_missing(demo, pi_paula, site_a_sam):
    report = _report(demo, pi_paula, view_all=False)  # not shared

    response = _client(site_a_sam).get(f"/projects/{demo.pk}/reports/{report.pk}/stats/")

    assert response.status_code == 404


def test_a_member_without_export_rights_is_refused(django_user_model, demo):
    user = django_user_model.objects.create_user(username="no_export_nick", password="x")
    ProjectMember.objects.create(project=demo, user=user)

    response = _client(user).get(f"/projects/{demo.pk}/reports/A/stats/")

    assert response.status_code == 403


def test_the_page_is_in_japanese_for_a_japanese_reader(demo, pi_paula):
    client = _client(pi_paula)
    client.cookies["django_language"] = "ja"

    html = client.get(f"/projects/{demo.pk}/reports/A/stats/").content.decode()

    assert 'lang="ja"' in html


def test_a_report_of_the_record_id_alone_says_there_is_nothing_to_summarise(demo, pi_paula):
    report = _report(demo, pi_paula, fields=("record_id",))

    html = _client(pi_paula).get(f"/projects/{demo.pk}/reports/{report.pk}/stats/").content

    assert b'data-testid="stats-empty"' in html
    assert b"stats-chart" not in html


def test_an_unknown_group_and_a_foreign_live_filter_value_are_ignored(demo, pi_paula):
    report = _report(demo, pi_paula, live_filters=("sex",))
    url = f"/projects/{demo.pk}/reports/{report.pk}/stats/"
    client = _client(pi_paula)

    plain = _count(client.get(url).content.decode())
    odd = client.get(url, {"group": "<script>", "live_sex": "' or 1=1 or '"}).content.decode()

    assert _count(odd) == plain
    assert "grouped by" not in _count(odd)
