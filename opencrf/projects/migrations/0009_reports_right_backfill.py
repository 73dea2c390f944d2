"""Give the reports right to everyone who builds reports today.

Until the reports right existed, Project Design stood for it (`exports.selectors.
may_build_reports`): members and roles with the design right get the reports right, so nobody
gains or loses anything by upgrading. Going back needs nothing: the field goes with 0008.
"""

from typing import Any

from django.db import migrations


def grant_to_designers(apps: Any, schema_editor: Any) -> None:
    for model in ("ProjectMember", "Role"):
        apps.get_model("projects", model).objects.filter(design=True).update(reports=True)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0008_rights_reports"),
    ]

    operations = [migrations.RunPython(grant_to_designers, migrations.RunPython.noop)]
