"""Helpers for tests that start real processes (Celery workers) against the suite's own database."""

from __future__ import annotations

import os

from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for a child process that points at the test database this test runs on."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def broker_url() -> str:
    """The broker a test's worker uses: CELERY_TEST_BROKER_URL (else the on-disk queue in the test's data dir).

    Parallel test workers (pytest-xdist) each get a Redis database of their own (15, 14, ...), so one worker's
    flush never empties another's queue."""
    url = os.environ.get("CELERY_TEST_BROKER_URL", "filesystem://")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if url.startswith("redis://") and worker.startswith("gw"):
        base, _, db = url.rpartition("/")
        url = f"{base}/{int(db or 15) - int(worker[2:])}"
    return url
