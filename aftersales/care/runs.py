"""A manager's "run now": the reminder sweep or the playbook run for one store, queued on the worker with its
progress kept on a row (SweepRun), so the page can show it; the scheduled runs go on as before.

One open run per store and kind (a partial unique index): a second click while one waits or runs returns that one.
The worker gets a nudge after commit; a run the nudge never reached (broker down, worker killed) is picked up by the
periodic playbook tick (``runs_sweep``). Running twice is harmless: both sweeps are idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.scoping import get_or_404, visible_store_ids
from aftersales.common.transitions import move

from .choices import RUN_TRANSITIONS, RunKind, RunStatus
from .models import SweepRun, SweepRunEvent

log = logging.getLogger(__name__)

#: who may start which run
RUN_PERMISSIONS = {RunKind.REMINDERS: "care.change_reminder", RunKind.PLAYBOOKS: "care.change_playbook"}
#: a run still "running" this long after it started was cut off (worker killed): the sweep starts it again
STALE_AFTER = dt.timedelta(minutes=15)


# ---- selectors -------------------------------------------------------------------------------------------------
def runs_for(user: Any, *, store: Any = None, kind: str = "") -> QuerySet[SweepRun]:
    qs = SweepRun.objects.filter(store_id__in=visible_store_ids(user)).select_related("store", "requested_by")
    if store is not None:
        qs = qs.filter(store_id=store.pk)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-requested_at", "-id")


def run_get(user: Any, pk: int) -> SweepRun:
    return get_or_404(runs_for(user), pk=pk)


# ---- services --------------------------------------------------------------------------------------------------
def run_request(*, actor: Any, store: Any, kind: str) -> SweepRun:
    """Queue a run of ``kind`` for ``store`` (or return the one already waiting or running)."""
    if kind not in RunKind.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    require(actor, RUN_PERMISSIONS[kind])
    require_store(actor, store.pk)
    open_run = SweepRun.objects.filter(store=store, kind=kind, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if open_run is not None:
        return open_run
    try:
        with transaction.atomic():
            run = SweepRun.objects.create(store=store, kind=kind, requested_by=actor)
            audit.record(actor=actor, obj=run, action=f"care.run_{kind}", store_id=store.pk)
            transaction.on_commit(lambda: _nudge(run.pk))
    except IntegrityError:  # a second click at the same moment: that one stands
        return SweepRun.objects.get(store=store, kind=kind, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    return run


def _nudge(run_id: int) -> None:
    from .tasks import run_now

    try:
        run_now.delay(run_id)
    except Exception:  # the run waits in the database; the periodic tick starts it
        log.warning("could not reach the task broker; the playbook tick will start care run %s", run_id, exc_info=True)


def _set_phase(run_id: int, phase: str) -> None:
    SweepRun.objects.filter(pk=run_id).update(phase=phase)


def run_process(run_id: int, *, now: dt.datetime | None = None) -> SweepRun | None:
    """Do a queued (or cut-off) run to the end. Safe to call twice: a finished run is left alone."""
    from .playbooks import ensure_default_playbooks, playbooks_advance, playbooks_enrol
    from .services import reminder_sweep

    started = now or timezone.now()
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        if run.status == RunStatus.RUNNING and run.started_at and started - run.started_at < STALE_AFTER:
            return run  # another worker has it
        move(run, to=RunStatus.RUNNING, actor=None, transitions=RUN_TRANSITIONS, event_model=SweepRunEvent,
             event_fk="run", labels=RunStatus)
        run.started_at = started
        run.phase = "started"
        run.save(update_fields=["started_at", "phase"])
    result: dict[str, Any]
    try:
        if run.kind == RunKind.REMINDERS:
            _set_phase(run.pk, "due dates and reminders")
            swept = reminder_sweep(store_ids=[run.store_id])
            result = {"vehicles": swept.vehicles, "reminders": swept.total_created, "messages": swept.messages}
        else:
            _set_phase(run.pk, "enrolling")
            ensure_default_playbooks()
            enrolled = playbooks_enrol(now=timezone.now(), store_ids=[run.store_id])
            _set_phase(run.pk, "running due steps")
            advanced = playbooks_advance(now=timezone.now(), store_ids=[run.store_id])
            result = {"enrolled": enrolled, "advanced": advanced}
    except Exception as exc:  # recorded on the run for the manager; the scheduled run will try again
        log.exception("care run %s failed", run.pk)
        with transaction.atomic():
            run = SweepRun.objects.select_for_update().get(pk=run.pk)
            move(run, to=RunStatus.FAILED, actor=None, transitions=RUN_TRANSITIONS, event_model=SweepRunEvent,
                 event_fk="run", labels=RunStatus, reason=str(exc)[:300])
            run.error = str(exc)[:300]
            run.finished_at = timezone.now()
            run.save(update_fields=["error", "finished_at"])
        return run
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().get(pk=run.pk)
        move(run, to=RunStatus.DONE, actor=None, transitions=RUN_TRANSITIONS, event_model=SweepRunEvent, event_fk="run",
             labels=RunStatus)
        run.result, run.phase, run.finished_at = result, "", timezone.now()
        run.save(update_fields=["result", "phase", "finished_at"])
    return run


def runs_sweep(*, now: dt.datetime | None = None) -> int:
    """Start the runs no worker started (queued over a minute ago, or cut off while running)."""
    now = now or timezone.now()
    ids = list(
        SweepRun.objects.filter(status=RunStatus.QUEUED, requested_at__lte=now - dt.timedelta(minutes=1))
        .values_list("id", flat=True)
    ) + list(
        SweepRun.objects.filter(status=RunStatus.RUNNING, started_at__lte=now - STALE_AFTER).values_list("id", flat=True)
    )
    for run_id in ids:
        run_process(run_id, now=now)
    return len(ids)
