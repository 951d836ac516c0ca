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


@shared_task(name="aftersales.common.tasks.prune_task_runs")
def prune_task_runs(keep_days: int = 7) -> int:
    """Forget finished task runs after a week (failed ones stay until an operator deals with them)."""
    import datetime as dt

    from .models import TaskRun, TaskState

    cutoff = timezone.now() - dt.timedelta(days=keep_days)
    deleted, _ = TaskRun.objects.filter(state=TaskState.SUCCEEDED, finished_at__lt=cutoff).delete()
    return deleted


@shared_task(name="aftersales.common.run_event_handler", ignore_result=True, acks_late=True)
def run_event_handler(name: str, event_name: str, fields: dict) -> None:
    """A background domain-event handler (common/events.py), after the publisher's transaction committed."""
    from . import events

    events.run_named(name, event_name, fields)


@shared_task(name="aftersales.common.run_event_batch", ignore_result=True, acks_late=True)
def run_event_batch(name: str, items: list) -> None:
    """A background batch handler (common/events.py): the events one transaction published, after it committed."""
    from . import events

    events.run_named_batch(name, [(event_name, fields) for event_name, fields in items])
