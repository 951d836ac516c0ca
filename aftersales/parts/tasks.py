from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.parts.reorder_sweep", ignore_result=True)
def reorder_sweep() -> dict[str, int]:
    """Nightly: an open requisition for every stock item below its minimum. Idempotent (safe to run twice)."""
    from .purchasing import reorder_sweep as sweep

    return sweep()


@shared_task(name="aftersales.parts.expire_reservations", ignore_result=True)
def expire_reservations() -> int:
    """Reservations past their expiry give their stock back. Idempotent."""
    from .services import expire_reservations as sweep

    return sweep()
