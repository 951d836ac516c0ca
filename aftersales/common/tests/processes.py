"""Helpers for tests that start real processes (Celery workers) against the suite's own database."""

from __future__ import annotations

from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for a child process that points at the test database this test runs on."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
