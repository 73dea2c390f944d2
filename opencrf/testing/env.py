"""A pytest plugin loaded before Django (`-p opencrf.testing.env`): the test environment.

Tests run with production settings; they only need a key and a scratch data folder.
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.setdefault("OPENCRF_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("OPENCRF_DATA_DIR", tempfile.mkdtemp(prefix="opencrf-test-"))
os.makedirs(os.path.join(os.environ["OPENCRF_DATA_DIR"], "static"), exist_ok=True)
os.environ.setdefault("OPENCRF_HTTPS", "false")
# No periodic job starts by the clock inside a test server; tests call the jobs themselves.
os.environ.setdefault("OPENCRF_BACKUP_TIME", "")
os.environ.setdefault("OPENCRF_DRILL_TIME", "")
