"""Periodic billing work. The task only triggers what the sweep itself finds, so a lost run delays and never loses."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.billing.online_payment_sweep", ignore_result=True)
def online_payment_sweep() -> dict[str, int]:
    """Pending online payments whose notification has not come: ask the provider, record what was paid (once),
    close what never will be; then refunds still on their way (asked the same way). Safe to run twice."""
    from .services import online_payment_sweep as sweep
    from .services import online_refund_sweep

    counts = sweep()
    counts["refunds_asked"] = online_refund_sweep()
    return counts
