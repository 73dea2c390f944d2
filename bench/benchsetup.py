"""Shared start-up of the benchmarks that drive Django in-process.

Production settings (cached templates, no debug), plain HTTP for the test client, a scratch
data folder removed at exit, and plain static storage: benchmarks measure views, not
collectstatic.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path


def setup_django() -> str:
    """Configure and start Django for a benchmark; returns the scratch data folder."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DJANGO_SETTINGS_MODULE"] = "opencrf.config.settings"
    os.environ["OPENCRF_DEBUG"] = "0"
    os.environ["OPENCRF_HTTPS"] = "false"
    os.environ.setdefault("OPENCRF_SECRET_KEY", "bench-" + "x" * 50)
    os.environ["OPENCRF_DATA_DIR"] = data_dir = tempfile.mkdtemp(prefix="opencrf-bench-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.makedirs(os.path.join(data_dir, "static"))
    os.environ.setdefault("OPENCRF_LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
    return data_dir
