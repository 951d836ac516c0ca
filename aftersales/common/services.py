"""Writes for the infrastructure operators look after (background work)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .errors import Conflict
from .models import TaskRun, TaskState
from .permissions import require

log = logging.getLogger(__name__)
RERUN_MARK = "re-run as "


def task_rerun(*, actor: Any, run: TaskRun) -> TaskRun:
    """Queue a failed task again with the same name and arguments, recorded as a new TaskRun.

    The new row is written first (state queued) and the task is published after commit with that row's task id,
    so the publish signal finds the row instead of creating another. A run is re-run once.
    """
    from celery import current_app

    require(actor, "common.change_taskrun")
    with transaction.atomic():
        locked = TaskRun.objects.select_for_update().get(pk=run.pk)
        if locked.state != TaskState.FAILED:
            raise Conflict("task_not_failed", _("Only a failed task can be re-run."), "state")
        if locked.result.startswith(RERUN_MARK):
            raise Conflict("task_already_rerun", _("This task has already been re-run."), "state")
        new = TaskRun.objects.create(
            task_id=str(uuid.uuid4()), name=locked.name, args=list(locked.args or []), kwargs=dict(locked.kwargs or {}),
            state=TaskState.QUEUED,
        )
        locked.result = f"{RERUN_MARK}{new.task_id}"
        locked.save(update_fields=["result"])
        audit.record(actor=actor, obj=new, action="task.rerun", changes={"rerun_of": [None, locked.task_id]})

        def publish() -> None:
            try:
                current_app.send_task(new.name, args=new.args, kwargs=new.kwargs, task_id=new.task_id)
            except Exception:  # broker down: the row shows it queued; the operator can see nothing ran
                log.warning("could not publish re-run of %s", new.name, exc_info=True)

        transaction.on_commit(publish)
    return new
