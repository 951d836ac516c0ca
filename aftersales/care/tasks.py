"""Thin, idempotent tasks: load nothing, call a service, safe to run twice (the sweep would find the same work)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.care.reminder_sweep")
def reminder_sweep() -> str:
    from .services import reminder_sweep as sweep

    result = sweep()
    return f"{result.vehicles} vehicles, {result.total_created} reminders, {result.messages} messages"


@shared_task(name="aftersales.care.playbooks_tick")
def playbooks_tick() -> str:
    from .services import playbooks_tick as tick

    enrolled, advanced = tick()
    return f"{enrolled} enrolled, {advanced} advanced"
