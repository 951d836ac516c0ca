"""The background worker, for real: a Celery worker process consuming from a real broker.

On SQLite runs the broker is the embedded on-disk queue (what `make run` uses); when CELERY_TEST_BROKER_URL is set
(CI's PostgreSQL run sets Redis) that broker is used. The task is queued while no worker runs, so the test also
shows that queued work survives until a worker starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from aftersales.common import crypto
from aftersales.common.models import WorkerHeartbeat
from aftersales.common.tests.processes import broker_url, database_url


@pytest.mark.real_clock  # the worker / server is another process on the real clock
@pytest.mark.django_db(transaction=True)
def test_task_queued_before_worker_starts_is_processed(tmp_path):
    env = {
        **os.environ,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        # the worker reads the secrets the test stored encrypted: the same keys (one data directory in production)
        "AFTERSALES_ENCRYPTION_KEYS": ",".join(crypto.current_keys()),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url(),
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if env["CELERY_BROKER_URL"].startswith("redis://"):
        subprocess.run(
            [sys.executable, "-c", "import redis,sys; redis.Redis.from_url(sys.argv[1]).flushdb()", env["CELERY_BROKER_URL"]],
            check=True, env=env,
        )
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from aftersales.common.tasks import heartbeat; heartbeat.delay()"],
        check=True, env=env, timeout=60,
    )
    assert not WorkerHeartbeat.objects.exists()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aftersales", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300  # waits, not a timing target
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker exited"
            time.sleep(0.5)
        assert WorkerHeartbeat.objects.count() == 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
