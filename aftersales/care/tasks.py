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
    from .runs import runs_sweep
    from .services import playbooks_tick as tick

    enrolled, advanced = tick()
    started = runs_sweep()  # a manager's "run now" the worker never got
    return f"{enrolled} enrolled, {advanced} advanced, {started} runs started"


@shared_task(name="aftersales.care.run_now")
def run_now(run_id: int) -> str:
    from .runs import run_process

    run = run_process(run_id)
    return f"care run {run_id}: {run.status if run else 'gone'}"
