"""A record may be in several arms (as in REDCap): `Record.arm` becomes `RecordArm` rows."""

from itertools import islice

import django.db.models.deletion
from django.db import migrations, models


def copy_arms(apps, schema_editor):
    Record = apps.get_model("records", "Record")
    RecordArm = apps.get_model("records", "RecordArm")
    rows = Record.objects.values_list("pk", "arm_id").iterator(chunk_size=2000)
    while batch := [RecordArm(record_id=pk, arm_id=arm) for pk, arm in islice(rows, 2000)]:
        RecordArm.objects.bulk_create(batch)


def copy_arms_back(apps, schema_editor):
    Record = apps.get_model("records", "Record")
    RecordArm = apps.get_model("records", "RecordArm")
    for link in RecordArm.objects.order_by("record_id", "arm__number").iterator(chunk_size=2000):
        Record.objects.filter(pk=link.record_id, arm__isnull=True).update(arm_id=link.arm_id)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_member_rights_backfill"),
        ("records", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordArm",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "arm",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="projects.arm",
                    ),
                ),
                (
                    "record",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="arm_links",
                        to="records.record",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="recordarm",
            constraint=models.UniqueConstraint(fields=("record", "arm"), name="record_arm_unique"),
        ),
        # Reversible: going back needs the column nullable until every record has its arm.
        migrations.AlterField(
            model_name="record",
            name="arm",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="records",
                to="projects.arm",
            ),
        ),
        migrations.RunPython(copy_arms, copy_arms_back),
        migrations.RemoveField(model_name="record", name="arm"),
        migrations.AddField(
            model_name="record",
            name="arms",
            field=models.ManyToManyField(
                related_name="records", through="records.RecordArm", to="projects.arm"
            ),
        ),
    ]
