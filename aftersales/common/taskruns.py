"""Background work as operators see it: Celery's task signals keep one TaskRun row per task execution.

This is bookkeeping about the infrastructure (like Celery's own result backend), not business logic.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from celery import signals
from django.db import DatabaseError
from django.utils import timezone

from .models import TaskRun, TaskState

#: periodic sweeps that run every few seconds would drown the list: shown only when they did something or failed
QUIET_TASKS = {"aftersales.messaging.dispatch", "aftersales.messaging.recover", "aftersales.common.tasks.heartbeat"}
#: a liveness signal, not work (shown as worker heartbeats instead)
NOT_WORK = {"aftersales.common.tasks.heartbeat"}


def _safe(fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(DatabaseError):  # bookkeeping must never break the task itself
            fn(*args, **kwargs)

    return wrapper


@signals.before_task_publish.connect
@_safe
def _queued(sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    if not headers or sender in QUIET_TASKS:
        return
    args, kwargs = (body[0], body[1]) if isinstance(body, tuple | list) and len(body) >= 2 else ([], {})
    TaskRun.objects.get_or_create(
        task_id=headers["id"], defaults={"name": sender or headers.get("task", ""), "args": list(args), "kwargs": dict(kwargs)}
    )


@signals.task_prerun.connect
@_safe
def _running(task_id: str = "", task: Any = None, args: Any = (), kwargs: Any = None, **_: Any) -> None:
    if task is None or task.name in QUIET_TASKS:
        return
    TaskRun.objects.update_or_create(
        task_id=task_id,
        defaults={"name": task.name, "args": list(args or []), "kwargs": dict(kwargs or {}), "state": TaskState.RUNNING,
                  "started_at": timezone.now(), "worker": socket.gethostname()},
    )


@signals.task_postrun.connect
@_safe
def _finished(task_id: str = "", task: Any = None, retval: Any = None, state: str = "", **_: Any) -> None:
    if task is None or state != "SUCCESS":
        return
    if task.name in QUIET_TASKS:
        if retval and task.name not in NOT_WORK:  # a sweep that found work (e.g. sent messages) is worth showing; an idle one is not
            now = timezone.now()
            TaskRun.objects.update_or_create(
                task_id=task_id,
                defaults={"name": task.name, "state": TaskState.SUCCEEDED, "started_at": now, "finished_at": now,
                          "result": str(retval)[:500], "worker": socket.gethostname()},
            )
        return
    TaskRun.objects.filter(task_id=task_id).update(state=TaskState.SUCCEEDED, finished_at=timezone.now(), result=str(retval)[:500])


@signals.task_failure.connect
@_safe
def _failed(task_id: str = "", exception: BaseException | None = None, sender: Any = None, args: Any = (), kwargs: Any = None, **_: Any) -> None:
    TaskRun.objects.update_or_create(
        task_id=task_id,
        defaults={"name": getattr(sender, "name", ""), "args": list(args or []), "kwargs": dict(kwargs or {}),
                  "state": TaskState.FAILED, "finished_at": timezone.now(), "error": repr(exception)[:5000],
                  "worker": socket.gethostname()},
    )


@signals.task_retry.connect
@_safe
def _retrying(request: Any = None, reason: Any = None, **_: Any) -> None:
    if request is None:
        return
    run = TaskRun.objects.filter(task_id=request.id).first()
    if run:
        run.state = TaskState.RETRYING
        run.retries += 1
        run.error = str(reason)[:5000]
        run.save(update_fields=["state", "retries", "error"])
