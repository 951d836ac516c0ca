from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task(name="aftersales.common.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker is alive; idempotent (one row per host)."""
    host = socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(hostname=host, defaults={"seen_at": timezone.now()})
    return host
