"""The project's API page: tokens made, shown once, regenerated and withdrawn."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from opencrf.api.models import ApiToken
from opencrf.api.tests.client import post
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def paula(pi_paula):
    browser = Client()
    browser.force_login(pi_paula)
    return browser


def shown_token(response) -> str:
    found = re.search(rb'data-testid="new-token">([0-9A-F]{32})<', response.content)
    assert found, response.content.decode()
    return found.group(1).decode()


def test_a_member_makes_a_token_that_is_shown_once_and_works(paula, study, pi_paula):
    made = paula.post(f"/projects/{study.pk}/api/token/", {"action": "create"})
    token = shown_token(made)
    later = paula.get(f"/projects/{study.pk}/api/")

    assert made["Cache-Control"] == "no-store"
    assert token.encode() not in later.content
    assert f"<code>{token[-4:]}</code>".encode() in later.content
    assert post({"token": token, "content": "version"}).content == b"16.0.0"


def test_regenerating_on_the_page_retires_the_old_token(paula, study):
    old = shown_token(paula.post(f"/projects/{study.pk}/api/token/", {"action": "create"}))
    new = shown_token(paula.post(f"/projects/{study.pk}/api/token/", {"action": "regenerate"}))

    assert old != new
    assert post({"token": old, "content": "version"}).status_code == 403


def test_a_member_without_api_rights_cannot_make_a_token(study, site_b_bea):
    ProjectMember.objects.create(project=study, user=site_b_bea)
    bea = Client()
    bea.force_login(site_b_bea)

    response = bea.post(f"/projects/{study.pk}/api/token/", {"action": "create"}, follow=True)

    assert "has no API rights in this project." in response.content.decode()
    assert not ApiToken.objects.filter(user=site_b_bea).exists()


def test_only_a_member_with_user_rights_deletes_another_members_token(
    paula, study, site_b_bea, paula_context
):
    from opencrf.api.tokens import token_create

    ProjectMember.objects.create(project=study, user=site_b_bea, api_export=True)
    token_create(context=paula_context, user=site_b_bea, project=study)
    bea = Client()
    bea.force_login(site_b_bea)
    paula_token = shown_token(paula.post(f"/projects/{study.pk}/api/token/", {"action": "create"}))

    refused = bea.post(f"/projects/{study.pk}/api/token/", {"action": "delete", "user": "pi_paula"})
    removed = paula.post(
        f"/projects/{study.pk}/api/token/", {"action": "delete", "user": site_b_bea.username}
    )

    assert refused.status_code == 404
    assert post({"token": paula_token, "content": "version"}).content == b"16.0.0"
    assert removed.status_code == 302
    assert not ApiToken.objects.filter(user=site_b_bea).exists()


def test_the_page_of_another_project_is_missing(study, site_b_bea):
    bea = Client()
    bea.force_login(site_b_bea)

    assert bea.get(f"/projects/{study.pk}/api/").status_code == 404


def test_tokens_are_changed_only_by_post_with_csrf(study, pi_paula):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(pi_paula)

    assert browser.get(f"/projects/{study.pk}/api/token/").status_code == 405
    assert browser.post(f"/projects/{study.pk}/api/token/", {"action": "create"}).status_code == 403
    assert not ApiToken.objects.exists()
