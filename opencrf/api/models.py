"""API tokens: only a digest is stored; the token itself is shown once, when made."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencrf.projects.models import Project


class ApiToken(models.Model):
    """A user's token for one project (32 hex digits), or a super token (64, no project)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=4, help_text="The token's last four characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=models.Q(project__isnull=False),
                name="api_token_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(project__isnull=True),
                name="api_token_one_super_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"…{self.hint}"

    @property
    def is_super(self) -> bool:
        return self.project_id is None


class IdempotentCall(models.Model):
    """The answer to a write sent with an `Idempotency-Key` header, kept so that a retry (after
    a dropped connection) gets the same answer instead of writing twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project", "key"], name="idempotent_call_once")
        ]
