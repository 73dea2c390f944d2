"""Rows of multi-language forms: a project's languages and its translated design texts.

Imported by `dictionary.models`; `dictionary.translations` explains the keys.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from opencrf.projects.models import Project


class ProjectLanguage(models.Model):
    """A language a project's forms and surveys are shown in; one is the dictionary's own."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="languages")
    code = models.CharField(_("language code"), max_length=32)
    display_name = models.CharField(_("display name"), max_length=100)
    is_base = models.BooleanField(_("base language"), default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project_id", "-is_base", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="language_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code})"


class Translation(models.Model):
    """One design text in one language, keyed (kind, name, index) as `translations` says."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    index = models.CharField(max_length=100, blank=True)
    text = models.TextField()
    # The digest of the base text the translation was made from (`translations.text_hash`).
    default_hash = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "language", "kind", "name", "index"],
                name="translation_unique_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language} {self.kind} {self.name} {self.index}".rstrip()
