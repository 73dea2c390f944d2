"""A deleted project's API token answers as an unknown one."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.audit.services import AuditContext
from opencrf.projects.deletion import project_delete

pytestmark = pytest.mark.django_db


def test_a_deleted_project_s_token_is_refused(token, study, admin_ada):
    assert post({"token": token, "content": "project", "format": "json"}).status_code == 200
    project_delete(
        context=AuditContext(actor=admin_ada), project=study, confirm_title=study.title, reason="x"
    )
    refused = post({"token": token, "content": "project", "format": "json"})
    assert refused.status_code == 403
    assert orjson.loads(refused.content) == {"error": "You do not have permissions to use the API"}
