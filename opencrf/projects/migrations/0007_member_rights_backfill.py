"""Give members who existed before user rights the rights they had in practice.

Until then every member could create, rename and delete records, read the log and enter data
on every instrument; those rights are now written out, so nobody loses access by upgrading.
"""

from django.db import migrations

KEPT_FLAGS = ("record_create", "record_rename", "record_delete", "logging")


def grant_existing(apps, schema_editor):
    ProjectMember = apps.get_model("projects", "ProjectMember")
    Instrument = apps.get_model("dictionary", "Instrument")
    forms: dict[int, list[str]] = {}
    for project_id, name in Instrument.objects.values_list("project_id", "name"):
        forms.setdefault(project_id, []).append(name)
    for member in ProjectMember.objects.all():
        for flag in KEPT_FLAGS:
            setattr(member, flag, True)
        names = forms.get(member.project_id, [])
        member.form_rights = dict.fromkeys(names, "edit")
        member.export_rights = dict.fromkeys(names, "full")
        member.save()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0006_rights_roles"),
        ("dictionary", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_existing, migrations.RunPython.noop)]
