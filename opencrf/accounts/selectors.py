from __future__ import annotations

from opencrf.accounts.models import User


def administrators_exist() -> bool:
    return User.objects.filter(is_superuser=True, is_active=True).exists()
