from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.people.certificate_reminders", ignore_result=True)
def certificate_reminders() -> int:
    """Daily: remind holders and foremen of certificates expiring within 60 days (once per certificate and end date)."""
    from .services import certificate_reminder_sweep

    return certificate_reminder_sweep()
