"""Thin, idempotent periodic tasks: each calls a sweep that finds its own work in the database."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.feedback.followup_sweep", ignore_result=True)
def followup_sweep() -> dict[str, int]:
    """Follow-ups for delivered orders that have none, survey links and reminders, unreached closings."""
    from .services import followup_sweep as sweep

    return sweep()


@shared_task(name="aftersales.feedback.sla_sweep", ignore_result=True)
def sla_sweep() -> dict[str, int]:
    """Warnings before an SLA is breached and escalation to the manager when it is."""
    from .services import sla_sweep as sweep

    return sweep()
