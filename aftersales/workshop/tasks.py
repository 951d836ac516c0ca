from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.workshop.flag_silent_orders", ignore_result=True)
def flag_silent_orders() -> int:
    """Every few minutes: flag orders with no customer-visible update for 30 minutes (once per silent period)."""
    from .floor_services import flag_silent_orders as sweep

    return sweep()
