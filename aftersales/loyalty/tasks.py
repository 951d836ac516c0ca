"""Periodic loyalty sweeps. Each only triggers work the sweep itself finds, so a lost run delays and never loses."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.loyalty.earn_sweep", ignore_result=True)
def earn_sweep() -> int:
    """Paid invoices that have not earned their points yet (whatever billing reported); pending referrals whose
    new customer has paid; then refunds and credit notes whose points were not taken back yet. Idempotent.
    Returns the number of invoices that earned."""
    from .services import clawback_sweep
    from .services import earn_sweep as sweep

    earned = sweep()
    clawback_sweep()
    return earned


@shared_task(name="aftersales.loyalty.expiry_sweep", ignore_result=True)
def expiry_sweep() -> dict[str, int]:
    """Nightly: expiry entries for lots past their date (FIFO), and vouchers past their last day. Idempotent."""
    from .services import expiry_sweep as points
    from .services import voucher_expire_sweep as vouchers

    return {"points_expired": points(), "vouchers_expired": vouchers()}
